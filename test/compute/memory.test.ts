import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLayers } from '../../src/compute/activations.js';
import { tf } from '../../src/compute/backend.js';
import { buildModel } from '../../src/compute/build.js';
import { memoryModel, type MemoryWeight } from './memory-model.js';

const DEPTH = 12;
const C = 8;

/** A functional Keras 2 config: input -> conv_0 -> ... -> conv_11, plus add(conv_5, conv_11). */
function chain(): { config: unknown; weights: Record<string, { className: string; weights: MemoryWeight[] }> } {
  const layers: unknown[] = [{ class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, 32, 32, C] }, inbound_nodes: [] }];
  const weights: Record<string, { className: string; weights: MemoryWeight[] }> = {};
  let previous = 'x';
  for (let i = 0; i < DEPTH; i++) {
    const name = `conv_${i}`;
    layers.push({
      class_name: 'Conv2D',
      config: { name, filters: C, kernel_size: [3, 3], padding: 'same', activation: 'relu', use_bias: true },
      inbound_nodes: [[[previous, 0, 0, {}]]],
    });
    weights[name] = {
      className: 'Conv2D',
      weights: [
        { role: 'kernel', shape: [3, 3, C, C], data: Float32Array.from({ length: 9 * C * C }, (_, k) => Math.sin(k + i) / 8) },
        { role: 'bias', shape: [C], data: new Float32Array(C).fill(0.01) },
      ],
    };
    previous = name;
  }
  layers.push({ class_name: 'Add', config: { name: 'skip' }, inbound_nodes: [[['conv_5', 0, 0, {}], [previous, 0, 0, {}]]] });
  return {
    config: { class_name: 'Model', config: { name: 'chain', layers, input_layers: [['x', 0, 0]], output_layers: [['skip', 0, 0]] } },
    weights,
  };
}

test('--layer all keeps only the live frontier of the graph in memory and leaks nothing', async () => {
  const { config, weights } = chain();
  const net = await buildModel(memoryModel(config, weights));
  try {
    const baseline = tf.memory().numTensors;
    let peak = 0;
    let seen = 0;
    const input = { shape: [1, 32, 32, C], data: Float32Array.from({ length: 32 * 32 * C }, (_, k) => (k % 7) / 7) };
    await runLayers(net, [input], {
      want: () => true,
      onActivation: () => {
        seen++;
        peak = Math.max(peak, tf.memory().numTensors - baseline);
      },
    });
    assert.equal(seen, DEPTH + 2);
    // Live at any callback: the layer's input, its output, and conv_5 (held for the skip connection).
    assert.ok(peak <= 3, `peak live activations ${peak}, expected at most 3 of ${DEPTH + 2}`);
    assert.equal(tf.memory().numTensors, baseline, 'tensors leaked');
  } finally {
    net.dispose();
  }
});
