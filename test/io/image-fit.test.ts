import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encode } from 'fast-png';
import { loadImage } from '../../src/io/image.js';
import { placement, type ResizeMode, type Size } from '../../src/io/image-fit.js';
import { needsFixtures, SHARED } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';

/**
 * Where a photo lands on the network's input, against the libraries that define the conventions:
 * crop is torchvision's Resize(size) + CenterCrop(size), pad is PIL's ImageOps.pad. The geometry
 * must be equal exactly, for every source size tried. The pixels are compared on real photographs
 * with the same resampler family (libvips's lanczos3 here, PIL's LANCZOS there). Two lanczos
 * implementations round and clip their overshoot differently at hard edges, so the bound is a mean
 * difference of at most 0.5 levels of 255 with at most 0.1 % of the values more than 2 apart
 * (measured: mean 0.26 and none on chelsea.png; mean 0.15 and 42 of 150,528 on rocket.jpg, along
 * the rocket's edges, at most 7 for crop and 12 for pad). A crop one pixel off gives a mean of 4.0
 * with 21 % of the values more than 2 apart.
 */

/** Source sizes: edge cases (square, odd and even borders, a row of pixels) and seeded random ones. */
function sizes(): Size[] {
  const random = prng(11);
  const fixed: [number, number][] = [[451, 300], [300, 451], [224, 224], [225, 224], [226, 224], [227, 224], [640, 427], [500, 3], [3, 500], [1, 1], [97, 13]];
  const drawn = Array.from({ length: 40 }, (): [number, number] => [1 + Math.floor(random() * 700), 1 + Math.floor(random() * 700)]);
  return [...fixed, ...drawn].map(([width, height]) => ({ width, height }));
}

const CROP_TARGETS = [224, 32, 7];
const PAD_TARGETS: [number, number][] = [[224, 224], [32, 32], [40, 24], [24, 40]];

/** torchvision's and PIL's own answer for each case, through their public transforms. */
const ORACLE = `
import json, sys, warnings
warnings.filterwarnings('ignore')
import torch
import torchvision.transforms as T
from PIL import Image, ImageOps
cases = json.load(sys.stdin)
out = []
for c in cases:
    w, h = c['width'], c['height']
    if c['mode'] in ('crop', 'torchvision'):
        s = c['target'][0]
        # torchvision's evaluation transform resizes to size / 0.875 first (ResNet's: Resize(256), CenterCrop(224)).
        resized = T.Resize(s if c['mode'] == 'crop' else int(s / 0.875))(torch.zeros(1, h, w))
        rh, rw = resized.shape[1:]
        cols = T.CenterCrop(s)(torch.arange(rw, dtype=torch.float64).expand(1, rh, rw))
        rows = T.CenterCrop(s)(torch.arange(rh, dtype=torch.float64)[:, None].expand(1, rh, rw))
        out.append([rw, rh, -int(cols[0, 0, 0]), -int(rows[0, 0, 0])])
    else:
        tw, th = c['target']
        try:
            padded = ImageOps.pad(Image.new('L', (w, h), 255), (tw, th), color=0)
        except ValueError:
            out.append(None)  # PIL resizes a thin photo to 0 pixels and fails; convscope keeps 1
            continue
        left, top, right, bottom = padded.getbbox()
        out.append([right - left, bottom - top, left, top])
print(json.dumps(out))
`;

describe('image fit: the geometry of crop, torchvision and pad equals torchvision and PIL', needsPython('torch, torchvision, PIL'), () => {
  it('for 51 source sizes and 3 square inputs (crop, torchvision), and 4 inputs of both orientations (pad)', () => {
    const cases: { mode: ResizeMode; width: number; height: number; target: [number, number] }[] = [];
    for (const size of sizes()) {
      for (const s of CROP_TARGETS) cases.push({ mode: 'crop', ...size, target: [s, s] }, { mode: 'torchvision', ...size, target: [s, s] });
      for (const t of PAD_TARGETS) cases.push({ mode: 'pad', ...size, target: t });
    }
    const expected = JSON.parse(runPython(ORACLE, [], JSON.stringify(cases))) as (number[] | null)[];
    const wrong = cases.flatMap((c, i) => {
      const at = placement(c.mode, c, { width: c.target[0], height: c.target[1] });
      const ours = [at.width, at.height, at.left, at.top];
      const theirs = expected[i] ?? [Math.max(1, at.width), Math.max(1, at.height), at.left, at.top];
      return ours.every((v, k) => v === theirs[k]) ? [] : [`${c.mode} ${c.width}x${c.height} -> ${c.target.join('x')}: ours ${ours.join(',')}, oracle ${theirs.join(',')}`];
    });
    assert.deepEqual(wrong, []);
  });

  it("torchvision's own ImageNet evaluation transform is the torchvision mode at 224: Resize(256), CenterCrop(224)", () => {
    const sizes = JSON.parse(runPython("import json, torchvision\nt = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()\nprint(json.dumps([t.resize_size, t.crop_size]))", [])) as number[][];
    assert.deepEqual(sizes, [[256], [224]]);
    const at = placement('torchvision', { width: 451, height: 300 }, { width: 224, height: 224 });
    assert.deepEqual(at, { width: 384, height: 256, left: -80, top: -16 });
  });

  it('stretch keeps nothing but the input size', () => {
    assert.deepEqual(placement('stretch', { width: 451, height: 300 }, { width: 224, height: 224 }), { width: 224, height: 224, left: 0, top: 0 });
  });
});

/**
 * Each photo fitted by PIL/torchvision with LANCZOS, as raw RGB bytes in files. Both sides start
 * from the same pixels (the photo as convscope decodes it, saved as PNG and raw), since JPEG decoding
 * disagrees on its own: rocket.jpg carries an ICC profile that libvips applies (after resizing) and
 * PIL ignores, up to 55 levels apart.
 */
const PIXEL_ORACLE = `
import sys, warnings
warnings.filterwarnings('ignore')
import numpy as np
import torchvision.transforms as T
from torchvision.transforms import InterpolationMode
from PIL import Image, ImageOps
out = sys.argv[1]
for i, size in enumerate(sys.argv[2:]):
    w, h = map(int, size.split('x'))
    im = Image.fromarray(np.fromfile(f'{out}/{i}.raw', dtype=np.uint8).reshape(h, w, 3))
    crop = T.Compose([T.Resize(224, interpolation=InterpolationMode.LANCZOS), T.CenterCrop(224)])(im)
    np.asarray(crop, dtype=np.uint8).tofile(f'{out}/{i}-crop.raw')
    pad = ImageOps.pad(im, (224, 224), method=Image.Resampling.LANCZOS, color=0)
    np.asarray(pad, dtype=np.uint8).tofile(f'{out}/{i}-pad.raw')
`;

describe('image fit: the pixels of real photographs equal PIL/torchvision within the resamplers\' rounding', { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('torchvision, PIL')) }, () => {
  const photos = ['chelsea.png', 'rocket.jpg'].map((p) => join(SHARED, 'images', p));
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-image-fit-'));
    const decoded = [];
    for (const [i, photo] of photos.entries()) {
      const full = await loadImage(photo, { channels: 3, resize: 'stretch' });
      writeFileSync(join(dir, `${i}.raw`), full.data);
      writeFileSync(join(dir, `${i}.png`), encode({ width: full.width, height: full.height, channels: 3, data: full.data }));
      decoded.push(`${full.width}x${full.height}`);
    }
    runPython(PIXEL_ORACLE, [dir, ...decoded]);
  });

  for (const mode of ['crop', 'pad'] as const) {
    it(`${mode}: chelsea.png (451x300) and rocket.jpg to 224x224`, async () => {
      for (const [i, photo] of photos.entries()) {
        const ours = await loadImage(join(dir, `${i}.png`), { width: 224, height: 224, channels: 3, resize: mode });
        const theirs = readFileSync(join(dir, `${i}-${mode}.raw`));
        assert.equal(ours.data.length, theirs.length);
        let far = 0;
        let sum = 0;
        for (let k = 0; k < theirs.length; k++) {
          const d = Math.abs(ours.data[k]! - theirs[k]!);
          if (d > 2) far++;
          sum += d;
        }
        const mean = sum / theirs.length;
        assert.ok(mean <= 0.5 && far <= 0.001 * theirs.length, `${photo} ${mode}: mean difference ${mean.toFixed(3)}, ${far} of ${theirs.length} values more than 2 apart`);
      }
    });
  }
});
