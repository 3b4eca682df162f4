import type { Framework } from '../model/model.js';

/** `(5, 5, 1, 96)`, Python style, as Keras and NumPy users see shapes. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function formatAxes(axes: readonly string[]): string {
  return `[${axes.join(', ')}]`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A number in at most `digits` significant digits, switching to exponent form when small or large. */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

/** Plain-text table with left-aligned columns separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

const FRAMEWORK_NAMES: Record<Framework, string> = {
  keras: 'Keras',
  tfjs: 'Keras / TensorFlow.js',
  pytorch: 'PyTorch',
  safetensors: 'PyTorch / safetensors',
  onnx: 'NumPy (onnx.numpy_helper.to_array)',
};

/** The name of the framework whose indexing expression convscope prints. */
export function frameworkName(framework: Framework): string {
  return FRAMEWORK_NAMES[framework];
}
