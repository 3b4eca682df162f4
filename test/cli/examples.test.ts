import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

/**
 * `convscope examples` refuses a data set whose images are not the model's input in the sentence the
 * viewer's "what it detects" tab shows (one check, in analyze/examples.ts), followed by the CLI's flag,
 * instead of the engine's shape error. Fixture 08 takes 28x28 grey digits; the built-in digits are 8x8.
 */
describe('convscope examples', needsFixtures, () => {
  it('says that the data set holds 8x8 images while the model takes 28x28, and names --data', async () => {
    const model = fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');
    const r = await runCli(['examples', model, '--layer', 'conv2d', '--data', 'digits'], { timeoutMs: 120000 });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^convscope: The data set digits holds 8x8 grey images, but digit-recognizer-model\.h5 takes 28x28 grey images; rank a data set of such images .*\(--data <spec>\)\n$/);
    assert.doesNotMatch(r.stderr, /expects input of shape/);
  });
});
