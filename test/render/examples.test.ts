import assert from 'node:assert/strict';
import { it } from 'node:test';
import { examplesFigure, type ExampleCrop } from '../../src/render/examples.js';
import type { ImageItem, TextItem } from '../../src/render/scene.js';

function crop(height: number, width: number, caption: string): ExampleCrop {
  return { height, width, channels: 1, data: new Uint8Array(height * width).fill(200), caption };
}

it('puts each score right under its own crop, so a crop clipped at the image edge keeps its number beside it', () => {
  // A receptive field clipped at the edge gives a crop smaller than the row's tallest (resnet18's layer3: 211 px fields
  // on 224 px photos); under the row, its score sat nearer the next row's crops than its own.
  const scene = examplesFigure(
    [
      { label: 'filter 0', crops: [crop(60, 60, '5.87'), crop(20, 60, '4.9')] },
      { label: 'filter 1', crops: [crop(60, 60, '2.96'), crop(60, 30, '2.43')] },
    ],
    { title: 't', lines: [] },
  );
  const images = scene.items.filter((i): i is ImageItem => i.kind === 'image');
  const captions = scene.items.filter((i): i is TextItem => i.kind === 'text' && /^\d/.test(i.text));
  assert.equal(images.length, 4);
  assert.deepEqual(captions.map((c) => c.text), ['5.87', '4.9', '2.96', '2.43']);
  captions.forEach((c, i) => {
    const own = images[i]!;
    assert.equal(c.x, own.x, `${c.text} is left-aligned with its crop`);
    assert.equal(c.y, own.y + own.height + 3, `${c.text} is 3 px under its crop`);
    const nextRow = images.filter((im) => im.y > own.y).map((im) => im.y);
    if (nextRow.length > 0) assert.ok(c.y - (own.y + own.height) < Math.min(...nextRow) - c.y, `${c.text} is nearer its own crop than the next row`);
  });
});
