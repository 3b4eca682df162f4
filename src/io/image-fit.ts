/**
 * How a photograph of another aspect ratio meets a network's input size: the one owner of the
 * geometry, pure and browser-safe, so that the Node decoder (io/image.ts) and the page's canvas place
 * the same pixels. Which mode a model gets when the user does not say is decided in
 * compute/default-preprocessing.ts.
 *
 * - stretch: the whole photo, resized to the input size, aspect ratio not kept (Keras's
 *   `load_img(target_size=...)`);
 * - crop: resized so that it covers the input, then the centre kept; for a square input this is
 *   torchvision's `Resize(size)` followed by `CenterCrop(size)`, with their integer rounding;
 * - torchvision: torchvision's ImageNet evaluation transform, a crop that leaves a border: resized so
 *   that it covers the input size / 0.875, then the centre kept (for 224: `Resize(256)` followed by
 *   `CenterCrop(224)`, what `ResNet18_Weights.DEFAULT.transforms()` does);
 * - pad: resized so that it fits inside the input, centred, black around it (a letterbox), with
 *   PIL's `ImageOps.pad` rounding.
 */
export type ResizeMode = 'stretch' | 'crop' | 'torchvision' | 'pad';

export const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'crop', 'torchvision', 'pad'];

/** The part of the resized photo torchvision's evaluation transforms keep: 224 of 256 (timm's crop_pct). */
export const TORCHVISION_CROP = 0.875;

export interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * Where the resized photo lands: it is resized to `width` x `height` and its top-left corner put at
 * (`left`, `top`) of the input (negative when a crop cuts it off; positive when padding surrounds it).
 */
export interface Placement extends Size {
  readonly left: number;
  readonly top: number;
}

/** Python's round(): halves go to the even neighbour, as torchvision's CenterCrop rounds its offsets. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * crop: torchvision's `Resize` then `CenterCrop`. The side that decides the scale gets its target
 * exactly, the other `floor(target * other / deciding)` (never below its own target); the cut starts
 * at round((resized - target) / 2).
 */
function cropped(source: Size, target: Size): Placement {
  const byWidth = target.width * source.height >= target.height * source.width;
  const width = byWidth ? target.width : Math.max(target.width, Math.floor((target.height * source.width) / source.height));
  const height = byWidth ? Math.max(target.height, Math.floor((target.width * source.height) / source.width)) : target.height;
  return { width, height, left: 0 - roundHalfEven((width - target.width) / 2), top: 0 - roundHalfEven((height - target.height) / 2) };
}

/**
 * pad: PIL's `ImageOps.pad` (its `contain`, then centred). The side that decides the scale gets its
 * target exactly, the other round(other / deciding * target); the photo starts at round(border / 2).
 */
function padded(source: Size, target: Size): Placement {
  const ratio = source.width / source.height;
  const wanted = target.width / target.height;
  const width = ratio < wanted ? Math.max(1, roundHalfEven((source.width / source.height) * target.height)) : target.width;
  const height = ratio > wanted ? Math.max(1, roundHalfEven((source.height / source.width) * target.width)) : target.height;
  return { width, height, left: roundHalfEven((target.width - width) * 0.5), top: roundHalfEven((target.height - height) * 0.5) };
}

/** torchvision: `Resize(floor(size / 0.875))` (cover that box), then `CenterCrop(size)` with its rounding. */
function torchvisionCropped(source: Size, target: Size): Placement {
  const at = cropped(source, { width: Math.floor(target.width / TORCHVISION_CROP), height: Math.floor(target.height / TORCHVISION_CROP) });
  return { width: at.width, height: at.height, left: 0 - roundHalfEven((at.width - target.width) / 2), top: 0 - roundHalfEven((at.height - target.height) / 2) };
}

/** Where a photo of size `source` lands on an input of size `target` under `mode`. */
export function placement(mode: ResizeMode, source: Size, target: Size): Placement {
  if (mode === 'stretch') return { width: target.width, height: target.height, left: 0, top: 0 };
  if (mode === 'torchvision') return torchvisionCropped(source, target);
  return mode === 'crop' ? cropped(source, target) : padded(source, target);
}

/** A mode in words, for a set of photos of many sizes: "centre crop". */
export const RESIZE_NAMES: Readonly<Record<ResizeMode, string>> = {
  stretch: 'stretched (aspect ratio not kept)',
  crop: 'centre crop',
  torchvision: "torchvision's evaluation crop (resized to the input size / 0.875, the centre kept)",
  pad: 'padded on black',
};

/** What a mode did to one photo, in words: "centre crop (resized to 336x224, the centre 224x224 kept)". */
export function describePlacement(mode: ResizeMode, at: Placement, target: Size): string {
  if (mode === 'stretch') return `stretched to ${target.width}x${target.height} (aspect ratio not kept)`;
  if (mode === 'crop') return `centre crop (resized to ${at.width}x${at.height}, the centre ${target.width}x${target.height} kept)`;
  if (mode === 'torchvision') return `torchvision's evaluation crop (resized to ${at.width}x${at.height}, the centre ${target.width}x${target.height} kept)`;
  return `padded (resized to ${at.width}x${at.height}, centred on black ${target.width}x${target.height})`;
}
