import { decode } from 'fast-png';

/** A decoded RGB(A) PNG with a pixel accessor, for pixel-exact assertions. */
export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint16Array | Uint8ClampedArray;
  at(x: number, y: number): [number, number, number];
}

export function decodePixels(png: Uint8Array): Pixels {
  const img = decode(png);
  const channels = img.channels;
  return {
    width: img.width,
    height: img.height,
    channels,
    data: img.data,
    at(x: number, y: number): [number, number, number] {
      const o = (y * img.width + x) * channels;
      return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
    },
  };
}
