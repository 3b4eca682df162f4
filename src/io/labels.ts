import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../model/errors.js';

/**
 * Class names for a model's outputs: a labels file the user gives (a JSON array, a JSON object with
 * a `labels` array as Teachable Machine writes, or one name per line), or, for a TF.js model.json,
 * the `metadata.json` beside it when it holds such a `labels` array.
 */

const MAX_BYTES = 4 * 1024 * 1024;

function parseLabels(text: string, path: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new InputError(`The labels file ${path} is not valid JSON: ${(e as Error).message.replace(/\.$/, '')}.`);
    }
    const list = Array.isArray(json) ? json : (json as { labels?: unknown }).labels;
    if (!Array.isArray(list) || !list.every((l) => typeof l === 'string')) {
      throw new InputError(`The labels file ${path} holds no list of class names (a JSON array of strings, or an object with a 'labels' array).`);
    }
    return list as string[];
  }
  return trimmed.split(/\r?\n/).map((l) => l.trim());
}

/** Reads class names from a labels file. */
export async function readLabels(path: string): Promise<string[]> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new InputError(`Cannot read the labels file ${path}: no such file.`);
  }
  if (size > MAX_BYTES) throw new InputError(`The labels file ${path} is ${size} bytes, more than the ${MAX_BYTES} a list of class names can need.`);
  return parseLabels(await readFile(path, 'utf8'), path);
}

/** Class names stored beside a TF.js model.json (Teachable Machine's metadata.json), or undefined. */
export async function labelsBesideModel(modelPath: string): Promise<string[] | undefined> {
  if (basename(modelPath) !== 'model.json') return undefined;
  const path = join(dirname(modelPath), 'metadata.json');
  const exists = await stat(path).then((s) => s.isFile() && s.size <= MAX_BYTES, () => false);
  if (!exists) return undefined;
  try {
    const json = JSON.parse(await readFile(path, 'utf8')) as { labels?: unknown };
    return Array.isArray(json.labels) && json.labels.every((l) => typeof l === 'string') ? (json.labels as string[]) : undefined;
  } catch {
    return undefined;
  }
}

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
