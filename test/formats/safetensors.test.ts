import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findLayer, findWeight, openModel } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsPython } from '../helpers/python.js';
import { assertMatchesManifest, generated } from '../helpers/torch-files.js';

describe('safetensors', needsPython('torch'), () => {
  it('every dtype (F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL) reads back exactly, grouped into PyTorch-layout layers', async () => {
    const g = generated('safetensors');
    const model = await openModel(g.path('custom.safetensors'));
    assert.equal(model.format, 'safetensors');
    assert.equal(model.framework, 'safetensors');
    await assertMatchesManifest(model, g.manifest['custom.safetensors']!);
    assert.deepEqual(model.metadata, { format: 'pt', source: 'convscope test' });
    assert.deepEqual([...findWeight(findLayer(model, 'conv2d')).axes], ['out', 'in', 'kh', 'kw']);
    assert.equal(findWeight(findLayer(model, 'bn'), 'moving_variance').name, 'bn.running_var');
    assert.deepEqual([...findWeight(findLayer(model, 'fc')).axes], ['units', 'in']);
    const up = await openModel(g.path('custom.safetensors'), { layout: { up: 'conv_transpose' } });
    assert.deepEqual([...findWeight(findLayer(up, 'up')).axes], ['in', 'out', 'kh', 'kw']);
  });

  it('a sharded checkpoint opens through model.safetensors.index.json with the same tensors', async () => {
    const g = generated('safetensors');
    const model = await openModel(g.path('model.safetensors.index.json'));
    await assertMatchesManifest(model, g.manifest['custom.safetensors']!);
    assert.equal(model.metadata?.format, 'pt');
    assert.match(model.metadata?.total_size ?? '', /^\d+$/);
  });

  it('inspect prints __metadata__ and the PyTorch-layout table', async () => {
    const r = await runCli(['inspect', generated('safetensors').path('custom.safetensors')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^metadata: format=pt, source=convscope test$/m);
    assert.match(r.stdout, /^conv2d\s+Conv2d\s+kernel\s+\(8, 3, 3, 5\)\s+\[out, in, kh, kw\]\s+float32\s+360$/m);
    assert.match(r.stdout, /^\s+bias\s+\(8,\)\s+\[features\]\s+float32\s+8$/m);
  });

  const bad: [string, RegExp][] = [
    ['past-end.safetensors', /past-end\.safetensors: tensor 'w' has data_offsets \[0, 16\], which lie outside the data section of 12 bytes\./],
    ['overlap.safetensors', /overlap\.safetensors: tensors 'a' and 'b' have overlapping data_offsets\./],
    ['huge-header.safetensors', /huge-header\.safetensors declares a safetensors header of 1152921504606846976 bytes, but the file holds only 25 bytes after the length field\./],
    ['wrong-length.safetensors', /wrong-length\.safetensors: tensor 'w' of dtype F32 and shape \(3\) needs 12 bytes, but its data_offsets \[0, 16\] span 16\./],
  ];
  for (const [file, message] of bad) {
    it(`${file} is refused before anything is allocated`, async () => {
      const before = process.memoryUsage().arrayBuffers;
      await assert.rejects(openModel(generated('safetensors').path(file)), message);
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    });
  }

  it('the CLI refuses a 2^60-byte header with exit code 1 and no stack', async () => {
    const r = await runCli(['inspect', generated('safetensors').path('huge-header.safetensors')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^convscope: .*huge-header\.safetensors declares a safetensors header of 1152921504606846976 bytes/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
