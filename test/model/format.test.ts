import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatCosine, formatCount, formatNumber, formatPercent, formatScale, formatShape } from '../../src/model/format.js';

// The expected strings are the specification of how convscope writes values on every surface (CLI,
// PNG/SVG labels, HTML report, viewer); the numbers' own digits come from JavaScript's toPrecision.
describe('model/format: one way to print a value', () => {
  it('numbers: 4 significant digits, exponent form below 1e-3 and from 1e5', () => {
    const cases: [number | null, string][] = [
      [0.80732, '0.8073'], [0.5, '0.5'], [-0.009887, '-0.009887'], [1234.56, '1235'], [99999, '1.000e+5'], [99994, '99990'],
      [123456, '1.235e+5'], [0.000018, '1.800e-5'], [0, '0'], [NaN, 'NaN'], [-Infinity, '-Infinity'], [null, '-'],
    ];
    for (const [x, want] of cases) assert.equal(formatNumber(x), want, String(x));
    assert.equal(formatNumber(0.000069, 2), '6.9e-5');
    assert.equal(formatNumber(1e-4, 2), '1.0e-4');
    assert.equal(formatScale(0.80732), '+-0.8073');
  });

  it('percent: one decimal, never rounding "almost all" to 100% or "almost none" to 0%', () => {
    assert.equal(formatPercent(0.908), '90.8%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(0.99996), '99.996%');
    assert.equal(formatPercent(0.00002), '0.002%');
  });

  it('bytes in binary units, shapes Python style, cosines in six decimals', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(9.4 * 1024 * 1024), '9.4 MiB');
    assert.equal(formatShape([30]), '(30,)');
    assert.equal(formatShape([null, 7, 7, 16]), '(None, 7, 7, 16)');
    assert.equal(formatCosine(0.9999995), '1.000000');
    assert.equal(formatCosine(null), '-');
  });
});

describe('formatCount', () => {
  it('groups digits exactly as en-US toLocaleString does', () => {
    const values = [0, 7, -7, 12, 999, 1000, -1000, 12_345, 123_456, 1_234_567, 11_699_132, -138_357_544, Number.MAX_SAFE_INTEGER, 1.5, 1e21];
    for (const n of values) assert.equal(formatCount(n), n.toLocaleString('en-US'), `for ${n}`);
  });
});
