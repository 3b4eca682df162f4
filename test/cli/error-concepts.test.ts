import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it("the report names its own flag for a layer (--detects-layer), not another command's --layer", needsFixtures, async () => {
    const r = await runCli(['report', fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'), '--detects-layer', 'dense', '--out', join(tmpdir(), 'convscope-never-written.html')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^convscope: Layer 'dense' has no spatial output to visualise; choose one of: conv2d, .*\. \(--detects-layer <name>\)\n$/);
  });

  it('an architecture JSON given as the model: the library names the concept, the CLI its flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-concepts-'));
    const path = join(dir, 'arch.json');
    writeFileSync(path, JSON.stringify({ class_name: 'Sequential', config: { layers: [] } }));
    const r = await runCli(['inspect', path]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /which holds no weights; give it as the architecture of the weights file it describes\. \(--config arch\.json\)\n$/);
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

  it('a tensor over the read limit: the CLI names --max-tensor-mb (the concept crosses the HDF5 thread), the library does not', needsFixtures, async () => {
    const r = await runCli(['inspect', fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'), '--max-tensor-mb', '0.001']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /, over the tensor size limit of 1\.0 KiB; if you trust the file, raise the tensor size limit\. \(--max-tensor-mb <n>\)\n$/);
  });

  it('the viewer says in its own terms what an input array, a Lambda statement or a read limit is set with', () => {
    const input = new UsageError('m.h5 takes input of shape (batch, 7), which is not an image; give it a preprocessed input array (.npy).', { concept: 'input-array' });
    assert.equal(viewerError(input), 'm.h5 takes input of shape (batch, 7), which is not an image; give it a preprocessed input array (.npy). (this viewer shows activations for images only)');
    const lambda = new UsageError("m.h5: layer 'l' is a Lambda layer (stored Python code, which convscope never runs); state what it computes as an expression in x.", { concept: 'lambda' });
    const layer = new UsageError('m.h5 has no layer with a spatial (rank-4) output for Grad-CAM; choose the layer to explain.', { concept: 'layer' });
    assert.match(viewerError(layer), /choose the layer to explain\. \(choose a layer in the list\)$/);
    setSurface('browser');
    assert.match(viewerError(lambda), /\(state it: serve the file with `convscope serve <file> --lambda <layer>='<expression in x>'`\)$/);
    setSurface('report');
    const limit = new UsageError('m.h5: a tensor is over the limit; if you trust the file, raise the tensor size limit.', { concept: 'tensor-limit' });
    assert.match(viewerError(limit), /\(to raise it, make the report with `convscope report <file> --max-tensor-mb <n>`\)$/);
    setSurface('server');
  });

  it('a data set of the wrong image size for dataset examples: the viewer says how to start it with another', async () => {
    const { rankExamples } = await import('../../src/analyze/examples.js');
    const { loadAllImages } = await import('../../src/data/index.js');
    // A runner for a 28x28 grey model (the ranking checks the data set before it runs a batch).
    const runner: Parameters<typeof rankExamples>[0] = {
      input: { source: 'm.h5', inputShapes: [[null, 28, 28, 1]], channelsFirst: false },
      layer: 'conv',
      engine: 'ONNX Runtime',
      run: () => assert.fail('no batch runs for a data set of the wrong size'),
      receptiveField: () => ({ unknown: 'not asked' }),
    };
    const error = await rankExamples(runner, await loadAllImages('digits'), { model: 'm.h5', top: 8, statistic: 'max', scale: 'unit' }).then(
      () => assert.fail('8x8 digits were ranked for a 28x28 model'),
      (e: unknown) => e,
    );
    assert.match(viewerError(error), /holds 8x8 grey images, but m\.h5 takes 28x28 grey images; .* \(to rank another, start the viewer as `convscope serve <file> --examples-data folder:<dir>`\)$/);
    setSurface('report');
    assert.match(viewerError(error), /\(make the report with `convscope report <file> --detects-data folder:<dir>`\)$/);
    setSurface('server');
  });
});

