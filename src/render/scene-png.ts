import { encode } from 'fast-png';
import { forEachTextPixel, textWidth } from './font.js';
import type { RGB, Scene, TextItem } from './scene.js';

/** An RGB canvas: width * height * 3 bytes. */
export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

function fillRect(r: Raster, x0: number, y0: number, w: number, h: number, c: RGB): void {
  const xa = Math.max(0, x0);
  const xb = Math.min(r.width, x0 + w);
  const ya = Math.max(0, y0);
  const yb = Math.min(r.height, y0 + h);
  if (xb <= xa || yb <= ya) return;
  const first = (ya * r.width + xa) * 3;
  for (let x = 0; x < xb - xa; x++) {
    r.data[first + x * 3] = c[0];
    r.data[first + x * 3 + 1] = c[1];
    r.data[first + x * 3 + 2] = c[2];
  }
  const bytes = (xb - xa) * 3;
  for (let y = ya + 1; y < yb; y++) r.data.copyWithin((y * r.width + xa) * 3, first, first + bytes);
}

function blit(r: Raster, x0: number, y0: number, w: number, h: number, pixels: Uint8Array): void {
  for (let y = 0; y < h; y++) {
    const ty = y0 + y;
    if (ty < 0 || ty >= r.height) continue;
    const from = x0 < 0 ? -x0 : 0;
    const to = Math.min(w, r.width - x0);
    if (to <= from) continue;
    r.data.set(pixels.subarray((y * w + from) * 3, (y * w + to) * 3), (ty * r.width + x0 + from) * 3);
  }
}

function drawText(r: Raster, t: TextItem): void {
  const w = textWidth(t.text);
  const x = t.anchor === 'start' ? t.x : t.anchor === 'middle' ? t.x - Math.floor(w / 2) : t.x - w;
  // Anti-aliased: each pixel is the text colour over what is already drawn, in proportion to its coverage.
  forEachTextPixel(t.text, x, t.y, (px, py, coverage) => {
    if (px < 0 || py < 0 || px >= r.width || py >= r.height) return;
    const a = coverage / 255;
    const o = (py * r.width + px) * 3;
    for (let k = 0; k < 3; k++) r.data[o + k] = Math.round(t.color[k]! * a + r.data[o + k]! * (1 - a));
  });
}

/** Draws a scene into an RGB raster. */
export function rasterize(scene: Scene): Raster {
  const r: Raster = { width: scene.width, height: scene.height, data: new Uint8Array(scene.width * scene.height * 3) };
  fillRect(r, 0, 0, r.width, r.height, scene.background);
  for (const item of scene.items) {
    if (item.kind === 'rect') fillRect(r, item.x, item.y, item.width, item.height, item.fill);
    else if (item.kind === 'image') blit(r, item.x, item.y, item.width, item.height, item.pixels);
    else drawText(r, item);
  }
  return r;
}

/** Deflate level 1: on these flat-coloured figures it compresses as well as level 6, several times faster. */
const ZLIB_LEVEL = 1;

/** PNG bytes of an RGB raster (8-bit, no alpha), with `title` in a tEXt chunk. */
export function encodeRaster(r: Raster, title: string): Uint8Array {
  return encode(
    { width: r.width, height: r.height, data: r.data, channels: 3, depth: 8, text: { Title: title, Software: 'convscope' } },
    { zlib: { level: ZLIB_LEVEL } },
  );
}

/** PNG bytes of a scene. */
export function sceneToPng(scene: Scene): Uint8Array {
  return encodeRaster(rasterize(scene), scene.title);
}
