import { BARELY_CHANGED_BELOW, EXPLODED_GROWTH, type Verdict } from './change.js';
import type { LayerDiff } from './diff.js';
import { formatNumber } from '../model/format.js';
import { isKernel } from '../model/filters.js';

export interface TrainingFacts {
  learningRate?: number;
  /** 'sgd' or 'adam', where known. */
  optimizer?: string;
  /** 'raw' (0..255) or 'unit' (0..1), where known. */
  inputScale?: string;
  /** The framework that wrote the checkpoints ('keras', 'pytorch', ...): advice names its own way of freezing a layer. */
  framework?: string;
}

/** How a layer is frozen in the framework that wrote the checkpoint. */
function freezing(framework: string | undefined): string {
  if (framework === 'pytorch') return 'frozen in code (requires_grad = False, or its parameters left out of the optimizer)';
  if (framework === 'keras' || framework === 'tfjs') return 'frozen in code (layer.trainable = False)';
  return 'frozen in code';
}

/** "a, b, c and 27 more" */
function names(layers: readonly LayerDiff[], shown = 6): string {
  const list = layers.slice(0, shown).map((l) => l.name);
  if (layers.length > shown) return `${list.join(', ')} and ${layers.length - shown} more`;
  return list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list.at(-1)}` : (list[0] ?? '');
}

/** Numbers inside the diagnosis sentences: two significant digits are what a reader compares. */
function fmt(x: number): string {
  return formatNumber(x, 2);
}

/** The kernel of a compared layer, chosen as model/filters.ts chooses it for a Layer. */
function kernelOf(layer: LayerDiff) {
  const kernels = layer.weights.filter((w) => isKernel({ role: w.weight, axes: w.axes }));
  return kernels.find((w) => w.weight === 'kernel') ?? kernels[0];
}

function explodedSentence(exploded: LayerDiff[]): string {
  const parts = exploded.map((l) => {
    if (l.nonFiniteAfter > 0) return `${l.name} has ${l.nonFiniteAfter} NaN/Inf values`;
    return `${l.name}'s norm grew ${fmt(l.normAfter / l.normBefore)}x (from ${fmt(l.normBefore)} to ${fmt(l.normAfter)})`;
  });
  return (
    `Training exploded: ${parts.join('; ')}. Likely causes: a learning rate too large, inputs not scaled (pixels in 0..255), ` +
    `or no gradient clipping. Lower the learning rate 10x, scale inputs to 0..1, and check the loss for NaN in the first steps ` +
    `(a norm growth over ${EXPLODED_GROWTH}x or any NaN/Inf counts as exploded).`
  );
}

function barelySentence(layers: LayerDiff[], facts: TrainingFacts): string {
  const largest = layers.reduce((m, l) => (l.relativeChange > m.relativeChange ? l : m), layers[0]!);
  const known: string[] = [];
  if (facts.learningRate !== undefined) known.push(`learning rate ${fmt(facts.learningRate)}`);
  if (facts.inputScale !== undefined) known.push(`input scale '${facts.inputScale}'`);
  if (facts.optimizer !== undefined) known.push(`optimizer ${facts.optimizer}`);
  const small = facts.learningRate !== undefined && facts.learningRate < 1e-4;
  const lrHint = !small
    ? ' Check the learning rate first: 1e-6 is a typical culprit; try 1e-2 for SGD or 1e-3 for Adam.'
    : facts.optimizer === 'adam'
      ? ` Adam moves each weight by about the learning rate per step, so ${fmt(facts.learningRate!)} needs about ${fmt(1 / facts.learningRate!)} steps to move a weight by 1: try 1e-3, Adam's default.`
      : facts.optimizer === 'sgd'
        ? ` A learning rate of ${fmt(facts.learningRate!)} is far too small for SGD: try 1e-2.`
        : ` A learning rate of ${fmt(facts.learningRate!)} is far too small: try 1e-2 for SGD or 1e-3 for Adam.`;
  const scaleHint =
    facts.inputScale === 'raw'
      ? ' The inputs were raw pixels in 0..255: divide them by 255 so that gradients and learning rate are on a sensible scale.'
      : ' Scale inputs to 0..1 (divide pixels by 255) if they are raw 0..255 values.';
  return (
    `Training barely moved the weights: the largest relative change of any layer is ${fmt(largest.relativeChange)} (${largest.name}), ` +
    `under the ${fmt(BARELY_CHANGED_BELOW)} threshold${known.length > 0 ? `, with ${known.length > 1 ? `${known.slice(0, -1).join(', ')} and ${known.at(-1)}` : known[0]}` : ''}. ` +
    `Likely causes: a learning rate too small, inputs not scaled, or layers frozen.${lrHint}${scaleHint} ` +
    `Also make sure the weights were saved after training, not before.`
  );
}

/**
 * Plain-words diagnosis of a checkpoint diff: likely causes and what to check, each sentence citing
 * the numbers that led to it.
 */
export function diagnose(layers: LayerDiff[], verdict: Verdict, facts: TrainingFacts): string[] {
  const out: string[] = [];
  if (layers.length === 0) return ['No layers with weights could be compared.'];
  const exploded = layers.filter((l) => l.verdict === 'exploded');
  if (exploded.length > 0) out.push(explodedSentence(exploded));

  const frozen = layers.filter((l) => l.trainable === false);
  const frozenStill = frozen.filter((l) => l.verdict === 'unchanged');
  if (frozenStill.length > 0) {
    out.push(
      `${frozenStill.length === 1 ? `Layer ${names(frozenStill)} is` : `${frozenStill.length} layers (${names(frozenStill)}) are`} frozen (trainable: false in ${frozenStill.length === 1 ? 'its config), so it is' : 'their configs), so they are'} expected to be unchanged.`,
    );
  }
  for (const l of frozen.filter((x) => x.verdict !== 'unchanged')) {
    out.push(`Layer ${l.name} is marked trainable: false in its config, yet it changed by ${fmt(l.relativeChange)}: it was unfrozen during training or the config is stale.`);
  }
  const trainable = layers.filter((l) => l.trainable !== false);
  const moving = trainable.filter((l) => l.verdict === 'changed');

  if (trainable.length > 0 && moving.length === 0 && exploded.length === 0) {
    out.push(
      trainable.every((l) => l.verdict === 'unchanged')
        ? `Not a single weight changed between the two checkpoints (${trainable.length} trainable layers compared): training did not ` +
            `update them at all. Check that the optimizer actually stepped, that the layers are trainable, and that the file was saved ` +
            `after training (or that you did not compare a file with itself).`
        : barelySentence(trainable, facts),
    );
  }

  if (moving.length > 0) {
    const top = moving.reduce((m, l) => (l.relativeChange > m.relativeChange ? l : m), moving[0]!);
    const still = trainable.filter((x) => x.verdict === 'unchanged');
    if (still.length > 0) {
      out.push(
        `${still.length === 1 ? `Layer ${names(still)} did` : `${still.length} layers (${names(still)}) did`} not change at all while others did ` +
          `(largest change ${fmt(top.relativeChange)} in ${top.name}): ${still.length === 1 ? 'it' : 'they'} may be ${freezing(facts.framework)}, ` +
          `not connected to the loss, or receive a zero gradient.`,
      );
    }
  }

  const withKernels = trainable.filter((l) => kernelOf(l) && l.verdict !== 'exploded');
  if (withKernels.length >= 3 && moving.length > 0) {
    const first = withKernels[0]!;
    const last = withKernels[withKernels.length - 1]!;
    const a = kernelOf(first)!.relativeChange;
    const b = kernelOf(last)!.relativeChange;
    // A first layer that did not move at all is frozen or cut off, which the sentence above says; a ratio to 0 means nothing.
    if (b > 0 && a > 0 && a < b / 10) {
      out.push(
        `Updates vanish towards the input: the first layer (${first.name}) moved ${fmt(a)}, the last (${last.name}) ${fmt(b)}, ` +
          `${fmt(b / a)}x more. Check for saturating activations (sigmoid, tanh), the initialization scale, ` +
          `or add BatchNormalization / residual connections.`,
      );
    }
  }

  for (const l of moving) {
    const k = kernelOf(l);
    if (!k || k.filters.length < 2) continue;
    const dead = k.filters.filter((f) => f.unchangedFraction === 1).map((f) => f.filter);
    if (dead.length > 0 && dead.length < k.filters.length) {
      dead.sort((x, y) => x - y);
      out.push(
        `${dead.length} of ${k.filters.length} filters of layer ${l.name} did not change at all (filters ${dead.slice(0, 10).join(', ')}${dead.length > 10 ? ', ...' : ''}) ` +
          `while the layer moved ${fmt(l.relativeChange)}: with ReLU, a filter whose output is negative for every input gets no gradient (a dead ReLU). ` +
          `Check the learning rate, the bias initialization, or use LeakyReLU.`,
      );
    }
  }

  for (const l of layers) {
    const k = kernelOf(l);
    const same = k?.identicalAfter;
    if (!k || !same) continue;
    out.push(
      `All ${same.filters} filters of layer ${l.name} are identical${k.identicalBefore ? ' before and after training' : ' after training'} ` +
        `(equal to within 1e-6 of the largest |w|, ${fmt(same.absMax)}). A constant initializer such as 'ones' gives every filter the same ` +
        `gradient, so symmetry never breaks: the filters stay identical and the loss will not fall. Use a random initializer (glorot_uniform, he_normal).`,
    );
  }

  if (out.length === 0 && verdict === 'changed') {
    const sorted = [...trainable].sort((x, y) => x.relativeChange - y.relativeChange);
    out.push(
      `Training changed the weights: relative change from ${fmt(sorted[0]!.relativeChange)} (${sorted[0]!.name}) ` +
        `to ${fmt(sorted[sorted.length - 1]!.relativeChange)} (${sorted[sorted.length - 1]!.name}).`,
    );
  }
  return out;
}
