import { FONT_HEIGHT } from '../../src/render/font.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributionFigure, mapRange, resizeBilinear } from '../../src/render/attribution.js';
import { getColormap } from '../../src/render/colormap.js';
import { sceneToPng } from '../../src/render/scene-png.js';
import { needsPython, runPython } from '../helpers/python.js';
import { decodePixels } from './png.js';

describe('attribution overlay', () => {
  const map = { height: 3, width: 4, data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], (v) => (v * v) / 10) };

  it('bilinear upsampling equals torch interpolate(mode=bilinear, align_corners=False) within 1e-5', needsPython('torch'), () => {
    const expected = JSON.parse(
      runPython(
        `import json, torch, torch.nn.functional as F
m = torch.tensor(${JSON.stringify(Array.from(map.data))}, dtype=torch.float64).view(1, 1, 3, 4)
print(json.dumps(F.interpolate(m, size=(7, 10), mode='bilinear', align_corners=False).view(-1).tolist()))`,
      ),
    ) as number[];
    const actual = resizeBilinear(map, 7, 10);
    expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= 1e-5 * 12.1, `pixel ${i}: ${actual[i]} vs ${e}`));
  });

  it('draws the map on its real scale: the largest value in the top colour, signed maps centred on zero', () => {
    assert.deepEqual(mapRange({ height: 1, width: 2, data: Float32Array.from([-1, 3]) }, true), [-3, 3]);
    assert.deepEqual(mapRange({ height: 1, width: 2, data: Float32Array.from([0.5, 3]) }, false), [0, 3]);
    const picture = { height: 3, width: 4, channels: 1, data: new Uint8Array(12).fill(128) };
    const png = decodePixels(sceneToPng(attributionFigure(picture, map, { title: 't', lines: ['l'], signed: false })));
    const lut = getColormap('inferno').lut;
    // Panels are upscaled to at least 192 px (48x here): the map panel starts one panel + gap to the right.
    const panelX = 8 + 192 + 10;
    const panelY = 8 + FONT_HEIGHT + 6 + FONT_HEIGHT + 2;
    assert.deepEqual(png.at(panelX + 191, panelY + 143), [lut[765], lut[766], lut[767]], 'the bottom-right corner (the maximum) is the top colour');
    assert.deepEqual(png.at(panelX, panelY), [lut[0], lut[1], lut[2]], 'the top-left corner (0) is the bottom colour');
  });
});
