import { lab, rgb } from 'd3-color';
import {
  interpolateBrBG,
  interpolateCividis,
  interpolateInferno,
  interpolateMagma,
  interpolatePiYG,
  interpolatePlasma,
  interpolateRdBu,
  interpolateViridis,
} from 'd3-scale-chromatic';
import { UsageError } from '../model/errors.js';
import { COLORMAP_NAMES, DEFAULT_COLORMAP, type ColormapName } from './choices.js';

/** A colormap sampled once into 256 RGB entries: entry i is the colour at t = i / 255. */
export interface Colormap {
  readonly name: string;
  /** 256 * 3 bytes, RGB. */
  readonly lut: Uint8Array;
  /** Diverging maps have a neutral middle (zero of a symmetric scale); sequential ones do not. */
  readonly diverging: boolean;
  readonly description: string;
}

type Interpolator = (t: number) => string;

type Msh = [number, number, number];

function toMsh(colour: string): Msh {
  const c = lab(colour);
  const m = Math.hypot(c.l, c.a, c.b);
  return [m, Math.acos(c.l / m), Math.atan2(c.b, c.a)];
}

function adjustHue([m, s, h]: Msh, unsaturatedM: number): number {
  if (m >= unsaturatedM) return h;
  const spin = (s * Math.sqrt(unsaturatedM * unsaturatedM - m * m)) / (m * Math.sin(s));
  return h > -Math.PI / 3 ? h + spin : h - spin;
}

/**
 * Kenneth Moreland's diverging interpolation ("Diverging Color Maps for Scientific Visualization",
 * 2009) in his polar Msh form of CIELAB (d3-color does the Lab conversion): a straight path in Msh
 * through a neutral white point of magnitude max(M1, M2, 88).
 */
function moreland(from: string, to: string): Interpolator {
  const start = toMsh(from);
  const end = toMsh(to);
  return (t) => {
    let a: Msh = [...start];
    let b: Msh = [...end];
    if (a[1] > 0.05 && b[1] > 0.05 && Math.abs(a[2] - b[2]) > Math.PI / 3) {
      const mid = Math.max(a[0], b[0], 88);
      if (t < 0.5) {
        b = [mid, 0, 0];
        t *= 2;
      } else {
        a = [mid, 0, 0];
        t = 2 * t - 1;
      }
    }
    if (a[1] < 0.05 && b[1] > 0.05) a[2] = adjustHue(b, a[0]);
    else if (b[1] < 0.05 && a[1] > 0.05) b[2] = adjustHue(a, b[0]);
    const [m, s, h] = [0, 1, 2].map((k) => (1 - t) * a[k]! + t * b[k]!) as Msh;
    return lab(m * Math.cos(s), m * Math.sin(s) * Math.cos(h), m * Math.sin(s) * Math.sin(h)).formatRgb();
  };
}

/**
 * Matplotlib's `coolwarm` is in no well-kept npm package, so it is built from Moreland's published
 * endpoint colours (59, 76, 192) and (180, 4, 38) with his interpolation above. It matches his
 * published 33-entry table within 4 levels per channel (test/render/colormap.test.ts).
 */
const coolwarm: Interpolator = moreland('rgb(59, 76, 192)', 'rgb(180, 4, 38)');

const reversed =
  (f: Interpolator): Interpolator =>
  (t) =>
    f(1 - t);

const gray: Interpolator = (t) => {
  const v = Math.round(t * 255);
  return `rgb(${v}, ${v}, ${v})`;
};

interface ColormapSource {
  interpolate: Interpolator;
  diverging: boolean;
  description: string;
}

const SOURCES: Record<ColormapName, ColormapSource> = {
  rdbu_r: { interpolate: reversed(interpolateRdBu), diverging: true, description: 'blue (negative) - white - red (positive), d3 RdBu reversed' },
  rdbu: { interpolate: interpolateRdBu, diverging: true, description: 'red (negative) - white - blue (positive), d3 RdBu' },
  coolwarm: { interpolate: coolwarm, diverging: true, description: 'blue - grey - red, Moreland / matplotlib coolwarm' },
  piyg: { interpolate: interpolatePiYG, diverging: true, description: 'pink - white - green, d3 PiYG' },
  brbg: { interpolate: interpolateBrBG, diverging: true, description: 'brown - white - teal, d3 BrBG' },
  gray: { interpolate: gray, diverging: false, description: 'black (most negative) to white (most positive)' },
  viridis: { interpolate: interpolateViridis, diverging: false, description: 'd3 viridis' },
  magma: { interpolate: interpolateMagma, diverging: false, description: 'd3 magma' },
  inferno: { interpolate: interpolateInferno, diverging: false, description: 'd3 inferno' },
  plasma: { interpolate: interpolatePlasma, diverging: false, description: 'd3 plasma' },
  cividis: { interpolate: interpolateCividis, diverging: false, description: 'd3 cividis' },
};

const cache = new Map<string, Colormap>();

function sample(interpolate: Interpolator): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = rgb(interpolate(i / 255));
    lut[i * 3] = Math.round(c.r);
    lut[i * 3 + 1] = Math.round(c.g);
    lut[i * 3 + 2] = Math.round(c.b);
  }
  return lut;
}

/** The named colormap (case-insensitive); a UsageError listing the valid names otherwise. */
export function getColormap(name: string = DEFAULT_COLORMAP): Colormap {
  const key = name.toLowerCase();
  const source = (SOURCES as Partial<Record<string, ColormapSource>>)[key];
  if (!source) {
    throw new UsageError(`Unknown colormap '${name}'; valid colormaps are: ${COLORMAP_NAMES.join(', ')}.`);
  }
  let map = cache.get(key);
  if (!map) {
    map = { name: key, lut: sample(source.interpolate), diverging: source.diverging, description: source.description };
    cache.set(key, map);
  }
  return map;
}

/**
 * LUT index of value v on the symmetric scale [-s, s]: -s -> 0, 0 -> 128, +s -> 255, clamped.
 * Every renderer quantizes through this one function, so "zero" is the same colour everywhere.
 */
export function lutIndex(v: number, s: number): number {
  const i = Math.round((v / s + 1) * 127.5);
  return i < 0 ? 0 : i > 255 ? 255 : i;
}

/** The LUT index that zero maps to: the colour of flat (dead) filters. */
export const ZERO_INDEX = lutIndex(0, 1);
