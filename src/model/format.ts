import type { Framework, Weight } from './model.js';

/**
 * How convscope writes numbers, shapes and sizes: one owner for the CLI, the PNG/SVG labels, the HTML
 * report and the web viewer, so a value reads the same on every surface. Pure, no Node APIs (the
 * browser client imports it).
 */

/** Significant digits of a number shown to a user, unless a caller has a reason to show fewer. */
export const DIGITS = 4;

/**
 * `x` in `digits` significant digits: plain below 1e5 and from 1e-3 up (`0.8073`, `1234`), exponent form
 * outside (`1.800e-5` with 4 digits, `1.8e-5` with 2); trailing zeros of plain numbers dropped; `-` for
 * a missing value.
 */
export function formatNumber(x: number | null | undefined, digits = DIGITS): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const rounded = Number(x.toPrecision(digits));
  const a = Math.abs(rounded);
  return a < 1e-3 || a >= 1e5 ? rounded.toExponential(digits - 1) : rounded.toString();
}

/** A symmetric colour scale `+-0.8073`: zero is the middle colour, +-scale the ends. */
export function formatScale(scale: number): string {
  return `+-${formatNumber(scale)}`;
}

/**
 * A fraction as a percentage with one decimal (`90.8%`); exactly 0 and 1 print as `0%` and `100%`, and
 * values that one decimal would round onto them get up to four (`99.97%`, `0.002%`), so "all" and
 * "none" are never claimed for "almost all" and "almost none".
 */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  if (fraction === 0 || fraction === 1) return `${100 * fraction}%`;
  const p = 100 * fraction;
  let decimals = 1;
  while (decimals < 4 && (Number(p.toFixed(decimals)) === 0 || Number(p.toFixed(decimals)) === 100)) decimals++;
  return `${p.toFixed(decimals)}%`;
}

/** A size in bytes with binary units: `512 B`, `9.4 MiB`, `1.2 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `(5, 5, 1, 96)` and `(30,)`, Python style, as Keras and NumPy users see shapes; an unknown length is `None`. */
export function formatShape(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

/** `[kh, kw, in, out]` */
export function formatAxes(axes: readonly string[]): string {
  return `[${axes.join(', ')}]`;
}

/** `59,933`: digits grouped in threes as en-US toLocaleString does, without loading ICU's number formatting (10-28 ms on first use). */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  const head = digits.length % 3 || 3;
  let out = digits.slice(0, head);
  for (let i = head; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}

const FRAMEWORK_NAMES: Record<Framework, string> = {
  keras: 'Keras',
  tfjs: 'Keras / TensorFlow.js',
  pytorch: 'PyTorch',
  safetensors: 'PyTorch / safetensors',
  onnx: 'NumPy (onnx.numpy_helper.to_array)',
  tensorflow: 'NumPy (tf.train.load_variable)',
};

/** The name of the framework whose indexing expression convscope prints. */
export function frameworkName(framework: Framework): string {
  return FRAMEWORK_NAMES[framework];
}

/** A cosine similarity in six decimals (`0.999998`): the digits that tell "unchanged" from "almost". */
export function formatCosine(c: number | null): string {
  return c === null ? '-' : c.toFixed(6);
}

/** `conv2d kernel (5, 5, 1, 30) [kh, kw, in, out]`: a weight as titles and listings name it. */
export function weightTitle(weight: Pick<Weight, 'layer' | 'role' | 'shape' | 'axes'>): string {
  return `${weight.layer} ${weight.role} ${formatShape(weight.shape)} ${formatAxes(weight.axes)}`;
}
