import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileSource } from '../../src/io/node-source.js';
import { externalizedModel } from '../../src/formats/onnx-external.js';
import { encodeOnnxModel } from '../../src/formats/onnx-write.js';
import { values } from '../helpers/keras-writers.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * The model ONNX Runtime is given for a file (formats/onnx-external.ts): the `onnx` package loads it
 * with its external data from the original file, and finds the same graph and bit-identical
 * initializers as in the original; large raw_data refers to the file, small stays inline.
 */
describe('ONNX model with its weights left in the file', needsPython('onnx', 'numpy'), () => {
  it('is the same model to the onnx package, its large initializers read from the original file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-onnx-external-'));
    try {
      const model = join(dir, 'model.onnx');
      writeFileSync(
        model,
        encodeOnnxModel({
          name: 'g',
          nodes: [
            { op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['h'], name: 'fc1', attributes: { transB: 1 } },
            { op: 'Relu', inputs: ['h'], outputs: ['y'], name: 'relu' },
          ],
          initializers: [
            { name: 'w', dims: [300, 400], data: values(300 * 400, 1) },
            { name: 'b', dims: [300], data: values(300, 2) },
          ],
          inputs: [{ name: 'x', shape: [null, 400] }],
          outputs: [{ name: 'y', shape: [null, 300] }],
        }),
      );
      const source = await fileSource(model);
      const small = await externalizedModel(source, 'model.onnx');
      source.close?.();
      assert.ok(small.length < 4096, `the weights are left out (${small.length} bytes)`);
      writeFileSync(join(dir, 'small.onnx'), small);
      const report = runPython(
        [
          'import sys, os, onnx, numpy as np',
          'from onnx import numpy_helper',
          'd = sys.argv[1]',
          'a = onnx.load(os.path.join(d, "model.onnx"))',
          'b = onnx.load(os.path.join(d, "small.onnx"), load_external_data=False)',
          'where = {t.name: (t.data_location, {e.key: e.value for e in t.external_data}) for t in b.graph.initializer}',
          'onnx.load_external_data_for_model(b, d)',
          'onnx.checker.check_model(b)',
          'same = all(np.array_equal(numpy_helper.to_array(x), numpy_helper.to_array(y)) for x, y in zip(a.graph.initializer, b.graph.initializer))',
          'print(same, a.graph.node == b.graph.node, a.graph.input == b.graph.input, a.graph.output == b.graph.output)',
          'print(where["w"][0], where["w"][1].get("location"), where["w"][1].get("length"), where["b"][0], len(where["b"][1]))',
        ].join('\n'),
        [dir],
      );
      const [same, layout] = report.trim().split('\n');
      assert.equal(same, 'True True True True', 'initializers, nodes, inputs and outputs as in the original');
      assert.equal(layout, `1 model.onnx ${300 * 400 * 4} 0 0`, 'w refers to model.onnx; b (1.2 KB) stays inline');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
