import { statSync, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConvscopeError } from '../model/errors.js';

/** A synchronous stat (no trip through the thread pool for a path that is almost always a plain file); undefined when it fails. */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The file to open for a path a user gives, where TensorFlow's habits differ from "one model, one
 * file": a SavedModel directory opens by its saved_model.pb, a checkpoint directory by its `checkpoint`
 * state file (or its only `.index`), a checkpoint prefix (`model.ckpt`, which is no file) and its
 * `.data-*` / `.meta` companions by `<prefix>.index`. Every other path is returned unchanged; the
 * readers then decide by content.
 */
export async function resolveModelPath(path: string): Promise<string> {
  const info = statOrUndefined(path);
  if (info?.isDirectory()) {
    const names = await readdir(path);
    for (const entry of ['saved_model.pb', 'checkpoint']) if (names.includes(entry)) return join(path, entry);
    const indexes = names.filter((n) => n.endsWith('.index'));
    if (indexes.length === 1) return join(path, indexes[0]!);
    if (names.includes('variables')) return resolveModelPath(join(path, 'variables'));
    const which = indexes.length > 1 ? ` (it has several: ${indexes.join(', ')})` : '';
    throw new ConvscopeError(
      `${path} is a directory, not a model file: it has no saved_model.pb, 'checkpoint' file or single .index file; give the model file itself${which}.`,
    );
  }
  const prefix = info ? /^(.*)\.(?:data-\d{5}-of-\d{5}|meta)$/.exec(path)?.[1] : path;
  if (prefix !== undefined && statOrUndefined(`${prefix}.index`)?.isFile()) return `${prefix}.index`;
  return path;
}
