import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/fixtures.js';
import { decodePixels } from './png.js';

export const GOLDEN = join(ROOT, 'test', 'golden');

/** Largest difference in any channel that still counts as the same pixel. */
const CHANNEL_TOLERANCE = 2;
/** Share of pixels that may differ by more than CHANNEL_TOLERANCE. */
const PIXEL_TOLERANCE = 0.001;

/**
 * Compares a PNG with test/golden/<name>.png. On mismatch the new image is written as
 * <name>-changed.png beside the golden file (git-ignored) and the test fails. With
 * CONVSCOPE_UPDATE_GOLDEN=1 a missing golden file is written instead (then look at it).
 */
export function assertGolden(name: string, png: Uint8Array): void {
  const path = join(GOLDEN, `${name}.png`);
  const changed = join(GOLDEN, `${name}-changed.png`);
  if (!existsSync(path)) {
    if (process.env.CONVSCOPE_UPDATE_GOLDEN === '1') {
      writeFileSync(path, png);
      return;
    }
    writeFileSync(changed, png);
    assert.fail(`golden image ${path} is missing; the rendering was written to ${changed} (set CONVSCOPE_UPDATE_GOLDEN=1 to accept it)`);
  }
  const want = decodePixels(readFileSync(path));
  const got = decodePixels(png);
  let bad = 0;
  if (want.width === got.width && want.height === got.height) {
    for (let y = 0; y < got.height; y++) {
      for (let x = 0; x < got.width; x++) {
        const a = want.at(x, y);
        const b = got.at(x, y);
        if (Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2])) > CHANNEL_TOLERANCE) bad++;
      }
    }
  }
  const sizeOk = want.width === got.width && want.height === got.height;
  if (!sizeOk || bad > PIXEL_TOLERANCE * got.width * got.height) {
    writeFileSync(changed, png);
    assert.fail(
      `${name}.png differs from its golden image (${sizeOk ? `${bad} of ${got.width * got.height} pixels` : `size ${got.width}x${got.height} vs ${want.width}x${want.height}`}); see ${changed}`,
    );
  }
}
