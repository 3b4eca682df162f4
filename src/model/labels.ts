/**
 * Class names a model's own metadata carries: pure, so the browser viewer uses it too (labels files
 * are read by io/labels.ts).
 */

const METADATA_KEYS = ['labels', 'class_names', 'classes', 'names'];

function indexed(pairs: readonly [string, unknown][]): string[] | undefined {
  const out: string[] = [];
  for (const [k, v] of pairs) {
    const i = Number(k);
    if (!Number.isSafeInteger(i) || i < 0 || i >= 1_000_000 || typeof v !== 'string') return undefined;
    out[i] = v;
  }
  return Array.from(out, (v) => v ?? '');
}

/**
 * Class names a model's metadata carries (ONNX metadata_props `labels`, `class_names`, `classes` or
 * `names`): a JSON array, a JSON {index: name} object, or a Python dict literal as Ultralytics writes.
 */
export function labelsInMetadata(metadata: Readonly<Record<string, string>> | undefined): string[] | undefined {
  for (const key of METADATA_KEYS) {
    const value = metadata?.[key]?.trim();
    if (!value) continue;
    try {
      const json = JSON.parse(value) as unknown;
      if (Array.isArray(json) && json.every((l) => typeof l === 'string')) return json as string[];
      if (json && typeof json === 'object' && !Array.isArray(json)) {
        const labels = indexed(Object.entries(json));
        if (labels) return labels;
      }
    } catch {
      const pairs = [...value.matchAll(/(\d+)\s*:\s*(['"])(.*?)\2/g)].map((m): [string, unknown] => [m[1]!, m[3]!]);
      const labels = pairs.length > 0 ? indexed(pairs) : undefined;
      if (labels) return labels;
    }
  }
  return undefined;
}
