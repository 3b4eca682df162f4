import type { Note } from '../model/model.js';
import { quote } from '../model/quote.js';

/**
 * What a JSON file that no reader claims is, in one phrase, so that "not a model" names the JSON the
 * user gave instead of its first bytes: a TF.js / face-api weights manifest without its model.json,
 * a Keras architecture without weights, a class-label list, or an object with the keys it has.
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isManifestGroup(value: unknown): value is { paths: unknown[]; weights: unknown[] } {
  return isObject(value) && Array.isArray(value.paths) && Array.isArray(value.weights);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The `{ class_name, ... }` of a bare Keras architecture (model.to_json(), also encoded once more as a JSON string), or undefined. */
export function kerasArchitecture(json: unknown): { class_name: string } | undefined {
  const arch = typeof json === 'string' ? tryParse(json) : json;
  return isObject(arch) && typeof arch.class_name === 'string' && ('config' in arch || 'model_config' in arch) ? (arch as { class_name: string }) : undefined;
}

/** A phrase completing "<file> is ...", for parsed JSON no reader claimed, and the setting it points to. */
export function describeJson(json: unknown): Note {
  if (Array.isArray(json) && json.length > 0 && json.every(isManifestGroup)) {
    const weights = json.reduce((n, g) => n + g.weights.length, 0);
    const paths = json.flatMap((g) => g.paths).filter((p): p is string => typeof p === 'string');
    return {
      text:
        `a TensorFlow.js weights manifest (${plural(json.length, 'group')}, ${plural(weights, 'weight')} in ${paths.slice(0, 3).map((p) => quote(p)).join(', ')}${paths.length > 3 ? ', ...' : ''}) ` +
        'without a model topology, as face-api.js and other TF.js projects ship; convscope opens the model.json that holds both modelTopology and weightsManifest',
    };
  }
  const arch = kerasArchitecture(json);
  if (arch) {
    return { text: `a Keras architecture (${quote(arch.class_name)}, as model.to_json() writes it), which holds no weights; give it as the architecture of the weights file it describes`, concept: 'architecture' };
  }
  if (Array.isArray(json)) {
    const strings = json.every((v) => typeof v === 'string');
    return { text: strings ? `a JSON list of ${plural(json.length, 'string')} (class labels?), not a model` : `a JSON list of ${plural(json.length, 'item')}, not a model` };
  }
  if (isObject(json)) {
    const keys = Object.keys(json);
    return { text: `a JSON object with ${keys.length === 0 ? 'no keys' : `keys ${keys.slice(0, 8).map((k) => quote(k)).join(', ')}${keys.length > 8 ? ', ...' : ''}`}, which is not a model convscope knows (a TF.js model.json has modelTopology and weightsManifest)` };
  }
  return { text: `a JSON ${json === null ? 'null' : typeof json}, not a model` };
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
