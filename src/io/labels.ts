import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../model/errors.js';

/**
 * Class names for a model's outputs from a labels file the user gives: a JSON array, a JSON object with
 * a `labels` array as Teachable Machine writes, or one name per line. (The metadata.json Teachable
 * Machine writes beside model.json is read by the TF.js reader, formats/tfjs.ts, into model metadata.)
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
