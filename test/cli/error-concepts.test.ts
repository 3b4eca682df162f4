import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/model/errors.js';
import { setSurface, viewerError } from '../../src/web/client/wording.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

// A library error names a concept ("the channel mode", "the architecture JSON") and carries it; each
// surface names its own control for it: the CLI its flag, the viewer its menu or how it was started.
describe('errors name concepts; each surface names its own control', () => {
  it('the CLI adds the flag that sets the concept', needsFixtures, async () => {
    const r = await runCli(['filters', fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'), '--channels', 'rgb', '--out', '/nonexistent/x.png']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      "convscope: Channel mode 'rgb' needs filters with 3 input channels, but layer 'conv2d' has 1; show each channel, their mean or one channel. (--channels auto|rgb|each|mean|<c>)\n",
    );
  });

  it('the viewer names its menu, or how the page was made, for the same error', () => {
    const channels = new UsageError("Channel mode 'rgb' needs filters with 3 input channels, but layer 'c' has 1; show each channel, their mean or one channel.", { concept: 'channels' });
    assert.match(viewerError(channels), /one channel\. \(choose another entry in the channels menu\)$/);
    assert.doesNotMatch(viewerError(channels), /--/);
    const architecture = new UsageError('w.h5 holds weights but no architecture, so convscope cannot run it; give its architecture JSON (model.to_json()).', { concept: 'architecture' });
    setSurface('browser');
    assert.match(viewerError(architecture), /\(open it with its architecture: drop the model\.to_json\(\) file together with the weights file\)$/);
    setSurface('server');
    assert.match(viewerError(architecture), /convscope serve <weights> --config arch\.json/);
  });
});
