import type { Metadata, OutputInfo, Sharp, SharpOptions } from 'sharp';
import { InputError } from '../model/errors.js';
import { placement, type Placement, type ResizeMode } from './image-fit.js';

/**
 * Decodes and resizes input images with sharp (libvips): PNG, JPEG, WebP, GIF, TIFF, AVIF, SVG.
 * The one place that touches image files; everything after is plain arrays (compute/preprocess.ts).
 */

export interface ImageRequest {
  /** Target size; undefined keeps the image's own size along that axis. */
  width?: number;
  height?: number;
  /** 1: grey (luminance), 3: RGB. */
  channels: 1 | 3;
  /** How a photo of another aspect ratio meets that size (io/image-fit.ts owns the geometry). */
  resize: ResizeMode;
}

/** 8-bit pixels, C order [height, width, channels]. */
export interface DecodedImage {
  /** The file's path, or the name given with its bytes. */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
  /** Size and format as stored. */
  readonly source: { width: number; height: number; format: string };
  /** How the upright photo was resized and placed on the requested size. */
  readonly placement: Placement;
}

/** An image given as a file path, or as the file's bytes with a name for messages (an upload, a dropped file). */
export type ImageInput = string | { readonly name: string; readonly bytes: Uint8Array };

/** sharp, loaded on first use (it brings libvips; most commands never decode an image). */
async function open(input: ImageInput): Promise<Sharp> {
  const { default: sharp } = await import('sharp');
  const options: SharpOptions = { failOn: 'error' };
  return sharp(typeof input === 'string' ? input : input.bytes, options);
}

/** Reads one image (a path or bytes; never a temporary file), converted to `channels` and resized to the requested size. */
export async function loadImage(input: ImageInput, request: ImageRequest): Promise<DecodedImage> {
  const path = typeof input === 'string' ? input : input.name;
  let meta: Metadata;
  try {
    meta = await (await open(input)).metadata();
  } catch (e) {
    // sharp says only 'Input file is missing: <path>' for a path that is not there
    if (typeof input === 'string' && /^Input file is missing/.test((e as Error).message)) throw new InputError(`The image ${path} does not exist.`);
    throw new InputError(`Cannot read the image ${path}: ${(e as Error).message.replace(/\.$/, '')}.`);
  }
  if (!meta.width || !meta.height) throw new InputError(`The image ${path} does not state its size, so convscope cannot read it.`);
  // EXIF orientations 5-8 turn the photo a quarter, swapping the stored width and height.
  const upright = (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  const width = request.width ?? upright.width;
  const height = request.height ?? upright.height;
  const at = placement(request.resize, upright, { width, height });
  let pipeline = (await open(input)).rotate().removeAlpha();
  pipeline = request.channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
  // libvips's default lanczos3 resampler, then the placement's cut or border.
  pipeline = pipeline.resize(at.width, at.height, { fit: 'fill' });
  if (at.left < 0 || at.top < 0) pipeline = pipeline.extract({ left: -at.left, top: -at.top, width, height });
  else if (at.width !== width || at.height !== height) {
    const [right, bottom] = [width - at.width - at.left, height - at.height - at.top];
    pipeline = pipeline.extend({ left: at.left, top: at.top, right, bottom, background: { r: 0, g: 0, b: 0 } });
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new InputError(`Cannot decode the image ${path}: ${(e as Error).message.replace(/\.$/, '')}.`);
  }
  const { info } = raw;
  if (info.channels !== request.channels) {
    throw new InputError(`The image ${path} decoded to ${info.channels} channels, but ${request.channels} were asked for.`);
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  return {
    path,
    width: info.width,
    height: info.height,
    channels: request.channels,
    data,
    source: { width: meta.width, height: meta.height, format: meta.format ?? 'unknown' },
    placement: at,
  };
}
