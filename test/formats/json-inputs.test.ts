import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openModel } from '../../src/formats/open.js';
import type { ConvscopeError } from '../../src/model/errors.js';
import type { Model } from '../../src/model/model.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

/**
 * JSON as people really have it: Keras 1 projects stored model.to_json() with json.dump (one JSON
 * string holding the architecture), and JSON files that are not models get a sentence about what they
 * are, not their first bytes in hex.
 */

const dir = mkdtempSync(join(tmpdir(), 'convscope-json-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function layout(model: Model): string[] {
  return model.layers.flatMap((l) => l.weights.map((w) => `${l.name}:${l.className}:${w.role}[${w.axes.join(',')}]`));
}

test('a Keras 1 architecture stored as a JSON string works as --config exactly like the object', needsFixtures, async () => {
  const configPath = fixture('04_dl4j_keras1_cnn', 'cnn_tf_config.json');
  const encoded = join(dir, 'arch-string.json');
  writeFileSync(encoded, JSON.stringify(readFileSync(configPath, 'utf8')));
  const weights = fixture('04_dl4j_keras1_cnn', 'cnn_tf_weights.h5');
  const fromObject = await openModel(weights, { config: configPath });
  const fromString = await openModel(weights, { config: encoded });
  try {
    assert.equal(typeof JSON.parse(readFileSync(encoded, 'utf8')), 'string');
    assert.ok(layout(fromObject).includes('convolution2d_1:Convolution2D:kernel[kh,kw,in,out]'));
    assert.deepEqual(layout(fromString), layout(fromObject));
  } finally {
    fromObject.close();
    fromString.close();
  }
});

test('a string that is not JSON inside is refused with a sentence', needsFixtures, async () => {
  const bad = join(dir, 'bad-string.json');
  writeFileSync(bad, JSON.stringify('{"class_name": "Sequential", '));
  await assert.rejects(openModel(fixture('04_dl4j_keras1_cnn', 'cnn_tf_weights.h5'), { config: bad }), /holds a JSON string that is not itself an architecture JSON \(/);
});

const CASES: [string, unknown, RegExp][] = [
  [
    'face-api weights manifest',
    [{ weights: [{ name: 'conv0/filters', shape: [3, 3, 3, 16], dtype: 'float32' }, { name: 'conv0/bias', shape: [16], dtype: 'float32' }], paths: ['tiny_face_detector_model-shard1'] }],
    /manifest\.json is a TensorFlow\.js weights manifest \(1 group, 2 weights in 'tiny_face_detector_model-shard1'\) without a model topology, as face-api\.js and other TF\.js projects ship; convscope opens the model\.json that holds both modelTopology and weightsManifest\.$/,
  ],
  ['Keras architecture', { class_name: 'Sequential', config: { layers: [] } }, /is a Keras architecture \('Sequential', as model\.to_json\(\) writes it\), which holds no weights; give it as the architecture of the weights file it describes\.$/],
  ['label list', ['cat', 'dog'], /is a JSON list of 2 strings \(class labels\?\), not a model\.$/],
  ['other object', { epochs: 3, lr: 0.1 }, /is a JSON object with keys 'epochs', 'lr', which is not a model convscope knows \(a TF\.js model\.json has modelTopology and weightsManifest\)\.$/],
];

for (const [what, json, message] of CASES) {
  test(`a ${what} given as the model gets a sentence about the JSON it is`, async () => {
    const path = join(dir, what === 'face-api weights manifest' ? 'manifest.json' : `${what.replace(/\W+/g, '-')}.json`);
    writeFileSync(path, JSON.stringify(json, null, 2));
    await assert.rejects(openModel(path), (e: Error) => {
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /starts with bytes/);
      // The architecture points to the setting that takes it (the CLI's --config, the viewer's drop zone).
      assert.equal((e as ConvscopeError).concept, what === 'Keras architecture' ? 'architecture' : undefined);
      return true;
    });
  });
}
