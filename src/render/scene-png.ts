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
  const x1 = Math.min(r.width, x0 + w);
  const y1 = Math.min(r.height, y0 + h);
  for (let y = Math.max(0, y0); y < y1; y++) {
    for (let x = Math.max(0, x0); x < x1; x++) {
      const o = (y * r.width + x) * 3;
      r.data[o] = c[0];
      r.data[o + 1] = c[1];
      r.data[o + 2] = c[2];
    }
  }
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
  forEachTextPixel(t.text, x, t.y, (px, py) => fillRect(r, px, py, 1, 1, t.color));
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

/** PNG bytes of an RGB raster (8-bit, no alpha), with `title` in a tEXt chunk. */
export function encodeRaster(r: Raster, title: string): Uint8Array {
  return encode({ width: r.width, height: r.height, data: r.data, channels: 3, depth: 8, text: { Title: title, Software: 'convscope' } });
}

/** PNG bytes of a scene. */
export function sceneToPng(scene: Scene): Uint8Array {
  return encodeRaster(rasterize(scene), scene.title);
}
