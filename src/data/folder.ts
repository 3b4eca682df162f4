import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { loadImage } from '../io/image.js';
import type { ResizeMode } from '../io/image-fit.js';
import { DataError } from '../model/errors.js';
import { requireDirectory } from './read.js';
import type { LoadedImages } from './dataset.js';

/** File extensions read as images (what libvips decodes). */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

/** Whether every pixel of RGB data has equal red, green and blue. */
function isGrey(rgb: Uint8Array): boolean {
  for (let i = 0; i < rgb.length; i += 3) if (rgb[i] !== rgb[i + 1] || rgb[i] !== rgb[i + 2]) return false;
  return true;
}

/** The image files among a folder's entries, sorted by name. */
function imageFiles(dir: string, entries: readonly Dirent[]): string[] {
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(dir, e.name))
    .sort();
}

async function classFolders(dir: string): Promise<{ name: string; files: string[] }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (folders.length > 256) throw new DataError(`The image folder '${dir}' has ${folders.length} class folders; convscope handles at most 256 classes.`);
  if (folders.length === 0) {
    // A flat folder of images (photos to rank for dataset examples): one class, named by the folder.
    const files = imageFiles(dir, entries);
    if (files.length > 0) return [{ name: basename(resolve(dir)), files }];
  }
  if (folders.length < 2) {
    throw new DataError(`The image folder '${dir}' expects images, or one sub-folder per class (at least 2), but has ${folders.length} sub-folder${folders.length === 1 ? '' : 's'} and no images.`);
  }
  const classes: { name: string; files: string[] }[] = [];
  for (const name of folders) {
    const files = imageFiles(join(dir, name), await readdir(join(dir, name), { withFileTypes: true }));
    if (files.length === 0) throw new DataError(`The class folder '${join(dir, name)}' holds no images (${[...IMAGE_EXTENSIONS].join(', ')}).`);
    classes.push({ name, files });
  }
  return classes;
}

/**
 * `folder:<dir>`: one sub-folder per class (sorted names are the classes), or a flat folder of images
 * (one class, named by the folder: enough for dataset examples), images of any format libvips reads. Every image is fitted to `size` as its `resize` says
 * (default: stretched to the first image's size) and has 1 channel when the first image is grey, else 3 (RGB); alpha is dropped.
 */
export async function loadFolder(dir: string, size?: { height: number; width: number; resize?: ResizeMode }): Promise<LoadedImages> {
  await requireDirectory(dir, 'image folder');
  const classes = await classFolders(dir);
  const resize = size?.resize ?? 'stretch';
  const first = await loadImage(classes[0]!.files[0]!, { channels: 3, resize, ...(size ? { height: size.height, width: size.width } : {}) });
  const target = { height: first.height, width: first.width, channels: isGrey(first.data) ? 1 : 3 } as const;
  const perImage = target.height * target.width * target.channels;
  const count = classes.reduce((n, c) => n + c.files.length, 0);
  const images = new Uint8Array(count * perImage);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const [label, { files }] of classes.entries()) {
    for (const file of files) {
      images.set((await loadImage(file, { ...target, resize })).data, n * perImage);
      labels[n++] = label;
    }
  }
  return { ...target, maxValue: 255, classes: classes.map((c) => c.name), train: { images, labels, count } };
}
