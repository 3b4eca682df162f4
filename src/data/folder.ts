import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { DataError } from '../model/errors.js';
import { requireDirectory } from './read.js';
import type { LoadedImages } from './source.js';

/** File extensions read as images (what libvips decodes). */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

interface Target {
  height: number;
  width: number;
  channels: number;
}

async function failing<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new DataError(`Cannot decode the image '${path}': ${(e as Error).message}.`);
  }
}

/** Size and colour of an image file: 1 channel when it is stored grey, else 3. */
function probe(path: string): Promise<Target> {
  return failing(path, async () => {
    const meta = await sharp(path).metadata();
    const grey = meta.channels - (meta.hasAlpha ? 1 : 0) === 1;
    return { height: meta.height, width: meta.width, channels: grey ? 1 : 3 };
  });
}

/** Decodes an image to `target` size and channels, dropping alpha. */
function decode(path: string, target: Target): Promise<Uint8Array> {
  return failing(path, async () => {
    const data = await sharp(path)
      .removeAlpha()
      .resize(target.width, target.height, { fit: 'fill' })
      .toColourspace(target.channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer();
    if (data.length !== target.height * target.width * target.channels) {
      throw new Error(`decoded ${data.length} bytes, expected ${target.height}x${target.width}x${target.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  });
}

async function classFolders(dir: string): Promise<{ name: string; files: string[] }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (folders.length > 256) throw new DataError(`The image folder '${dir}' has ${folders.length} class folders; convscope handles at most 256 classes.`);
  if (folders.length < 2) {
    throw new DataError(`The image folder '${dir}' expects one sub-folder per class (at least 2), but has ${folders.length}.`);
  }
  return Promise.all(
    folders.map(async (name) => {
      const files = (await readdir(join(dir, name), { withFileTypes: true }))
        .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .map((e) => join(dir, name, e.name))
        .sort();
      if (files.length === 0) throw new DataError(`The class folder '${join(dir, name)}' holds no images (${[...IMAGE_EXTENSIONS].join(', ')}).`);
      return { name, files };
    }),
  );
}

/**
 * `folder:<dir>`: one sub-folder per class (sorted names are the classes), images of any format
 * libvips reads. Every image is resized to `size` (default: the first image's size) and converted
 * to the first image's channel count (1 for grey, else 3); alpha is dropped.
 */
export async function loadFolder(dir: string, size?: { height: number; width: number }): Promise<LoadedImages> {
  await requireDirectory(dir, 'image folder');
  const classes = await classFolders(dir);
  const first = await probe(classes[0]!.files[0]!);
  const target = { height: size?.height ?? first.height, width: size?.width ?? first.width, channels: first.channels };
  const perImage = target.height * target.width * target.channels;
  const count = classes.reduce((n, c) => n + c.files.length, 0);
  const images = new Uint8Array(count * perImage);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const [label, { files }] of classes.entries()) {
    for (const file of files) {
      images.set(await decode(file, target), n * perImage);
      labels[n++] = label;
    }
  }
  return { ...target, maxValue: 255, classes: classes.map((c) => c.name), train: { images, labels, count } };
}
