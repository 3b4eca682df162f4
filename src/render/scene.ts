/**
 * A figure as a flat list of drawing primitives in pixel coordinates. Layout code builds a Scene
 * once; `scene-png.ts` rasterizes it and `scene-svg.ts` writes it as SVG, so both outputs agree.
 */
export type RGB = readonly [number, number, number];

export interface ImageItem {
  kind: 'image';
  x: number;
  y: number;
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB, drawn 1:1 (already upscaled). */
  pixels: Uint8Array;
}

export interface RectItem {
  kind: 'rect';
  x: number;
  y: number;
  width: number;
  height: number;
  fill: RGB;
}

export interface TextItem {
  kind: 'text';
  /** Anchor point: x per `anchor`, y = top of the capitals. */
  x: number;
  y: number;
  text: string;
  anchor: 'start' | 'middle' | 'end';
  color: RGB;
}

export type SceneItem = ImageItem | RectItem | TextItem;

export interface Scene {
  width: number;
  height: number;
  background: RGB;
  items: SceneItem[];
  /** Short description for the PNG tEXt chunk and the SVG <title>. */
  title: string;
}

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];
export const FRAME: RGB = [150, 150, 150];
