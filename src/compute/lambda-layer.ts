import * as tfl from '@tensorflow/tfjs-layers';
import { InputError } from '../model/errors.js';
import { parseLambda, sliceBounds, type Expr, type LambdaStatement } from '../model/expression.js';
import { tf } from './backend.js';

/**
 * A Keras Lambda layer run as the user stated it (model/expression.ts): an elementwise expression
 * in x or a crop. The stored Python code is never looked at.
 */

function evaluate(expr: Expr, x: tf.Tensor): tf.Tensor {
  switch (expr.kind) {
    case 'number':
      return tf.scalar(expr.value);
    case 'x':
      return x;
    case 'negate':
      return tf.neg(evaluate(expr.arg, x));
    case 'binary': {
      const a = evaluate(expr.left, x);
      const b = evaluate(expr.right, x);
      if (expr.op === '+') return tf.add(a, b);
      if (expr.op === '-') return tf.sub(a, b);
      if (expr.op === '*') return tf.mul(a, b);
      if (expr.op === '/') return tf.div(a, b);
      return tf.pow(a, b);
    }
    case 'call': {
      const [a, b] = expr.args.map((arg) => evaluate(arg, x));
      const fns = {
        abs: () => tf.abs(a!),
        sqrt: () => tf.sqrt(a!),
        exp: () => tf.exp(a!),
        log: () => tf.log(a!),
        tanh: () => tf.tanh(a!),
        sigmoid: () => tf.sigmoid(a!),
        relu: () => tf.relu(a!),
        square: () => tf.square(a!),
        minimum: () => tf.minimum(a!, b!),
        maximum: () => tf.maximum(a!, b!),
      };
      return fns[expr.fn]();
    }
  }
}

export class StatedLambda extends tfl.layers.Layer {
  static className = 'ConvscopeStatedLambda';
  private readonly statement: LambdaStatement;
  private readonly text: string;

  constructor(args: { expression: string; name: string; trainable?: boolean; batchInputShape?: (number | null)[]; dtype?: 'float32' }) {
    super(args);
    this.text = args.expression;
    this.statement = parseLambda(args.name, args.expression);
  }

  private cropped(shape: readonly (number | null)[]): { begin: number[]; size: (number | null)[] } {
    if (this.statement.kind !== 'crop') return { begin: shape.map(() => 0), size: [...shape] };
    const { slices } = this.statement;
    if (slices.length > shape.length) {
      throw new InputError(`Lambda layer '${this.name}' crops ${slices.length} axes (${this.text}), but its input has ${shape.length}.`);
    }
    const begin: number[] = [];
    const size: (number | null)[] = [];
    shape.forEach((n, axis) => {
      const bounds = sliceBounds(slices[axis] ?? { start: null, stop: null }, n);
      if (!bounds) throw new InputError(`Lambda layer '${this.name}' crop ${this.text} leaves nothing of axis ${axis} (length ${n}).`);
      begin.push(bounds.begin);
      size.push(bounds.size);
    });
    return { begin, size };
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return this.cropped(shape).size;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.statement.kind === 'identity') return tf.clone(x);
      if (this.statement.kind === 'elementwise') return tf.add(evaluate(this.statement.expr, x), tf.zerosLike(x));
      const { begin, size } = this.cropped(x.shape);
      return tf.slice(x, begin, size as number[]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), expression: this.text };
  }
}

tf.serialization.registerClass(StatedLambda);
