import { lstat, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SUMMARY_FILE } from '../analyze/timeline.js';
import { UsageError } from '../model/errors.js';

/** File names `serve DIR` treats as models; a TF.js model is its model.json. */
const MODEL_FILE = /\.(h5|hdf5|keras|pt|pth|safetensors|onnx)$/i;
/** Most models one project lists: each is opened when the server starts. */
export const MAX_PROJECT_MODELS = 64;

export interface ProjectEntry {
  /** The path to open. */
  path: string;
  /** How the viewer names it: the path relative to the project folder. */
  name: string;
}

async function isTfjsModelJson(path: string): Promise<boolean> {
  const st = await lstat(path);
  if (!st.isFile() || st.size > 64 * 1024 * 1024) return false;
  return /"(weightsManifest|modelTopology)"/.test((await readFile(path, 'utf8')).slice(0, 65536));
}

/**
 * The models of a project folder: every model file in it and in its sub-folders one level down (a TF.js
 * model folder, a `train --watch` snapshot directory), in name order. Symlinks are not followed, so the
 * listing never leaves the folder. A snapshot directory (one with summary.jsonl) contributes its
 * snapshots, named `<dir>/step-NNNNNN.safetensors`, which the time slider steps through.
 */
export async function projectModels(dir: string): Promise<ProjectEntry[]> {
  const out: ProjectEntry[] = [];
  const visit = async (abs: string, rel: string, depth: number): Promise<void> => {
    const entries = (await readdir(abs, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    for (const e of entries) {
      const path = join(abs, e.name);
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && depth === 0) await visit(path, name, 1);
      else if (e.isFile() && (MODEL_FILE.test(e.name) || (e.name.endsWith('.json') && e.name !== SUMMARY_FILE && (await isTfjsModelJson(path))))) {
        out.push({ path, name });
      }
    }
  };
  await visit(dir, '', 0);
  if (out.length === 0) throw new UsageError(`${dir} holds no model files (.h5, .keras, model.json, .pt, .pth, .safetensors, .onnx), in it or one folder down.`);
  if (out.length > MAX_PROJECT_MODELS) {
    throw new UsageError(`${dir} holds ${out.length} model files, but a project shows at most ${MAX_PROJECT_MODELS}; serve a sub-folder, or name the files.`);
  }
  return out;
}

/**
 * How the viewer names model files given one by one: each file's base name, lengthened by its parent
 * folders only where two would read the same (two TF.js models are both `model.json`).
 */
export function distinctNames(paths: readonly string[]): string[] {
  const parts = paths.map((p) => p.split(/[\\/]+/).filter((s) => s !== ''));
  const depth = paths.map(() => 1);
  const name = (i: number): string => parts[i]!.slice(-depth[i]!).join('/') || paths[i]!;
  for (;;) {
    const names = paths.map((_, i) => name(i));
    const clash = names.map((n, i) => names.indexOf(n) !== i || names.lastIndexOf(n) !== i);
    const grow = clash.map((c, i) => c && depth[i]! < parts[i]!.length);
    if (!grow.includes(true)) return names;
    grow.forEach((g, i) => {
      if (g) depth[i]! += 1;
    });
  }
}

/** Whether a path is a folder (served as a project) rather than one model file. */
export async function isFolder(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A training run of a project: the snapshots of one `train --watch` directory, by step. */
export interface ProjectRun {
  /** The directory, relative to the project (how the page names the run). */
  name: string;
  /** Its path, for the timeline. */
  dir: string;
  /** Each snapshot: the id of its model and its training step, in step order. */
  members: { model: number; step: number }[];
}

const SNAPSHOT = /^step-(\d+)\.safetensors$/;

/** The runs among opened entries: snapshots that sit in a directory with a summary.jsonl, two or more per run. */
export async function projectRuns(entries: readonly ProjectEntry[]): Promise<ProjectRun[]> {
  const byDir = new Map<string, ProjectRun>();
  for (const [model, e] of entries.entries()) {
    const m = SNAPSHOT.exec(e.path.split(/[\\/]/).pop()!);
    if (!m) continue;
    const dir = dirname(e.path);
    let run = byDir.get(dir);
    if (!run) {
      const hasSummary = await lstat(join(dir, SUMMARY_FILE)).then((st) => st.isFile(), () => false);
      if (!hasSummary) continue;
      run = { name: e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : '.', dir, members: [] };
      byDir.set(dir, run);
    }
    run.members.push({ model, step: Number(m[1]) });
  }
  return [...byDir.values()].filter((r) => r.members.length > 1).map((r) => ({ ...r, members: r.members.sort((a, b) => a.step - b.step) }));
}
