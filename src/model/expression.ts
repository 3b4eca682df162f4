import { UsageError } from './errors.js';

/**
 * What a user states a Keras Lambda layer computes (`--lambda lambda_1='x / 127.5 - 1'`), parsed by
 * a small grammar and never evaluated as code:
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/') unary)*
 *   unary      := '-' unary | power
 *   power      := atom ('**' unary)?
 *   atom       := number | 'x' | function '(' expression (',' expression)* ')' | '(' expression ')'
 * elementwise on the layer's input `x`, with the functions in FUNCTIONS; or a crop, the whole
 * statement being `x[a:b, c:d, ...]` (Python slices without steps, one per axis from the batch
 * axis, negative ends counting from the end, missing trailing axes kept whole); or `identity`.
 */

export type Expr =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'x' }
  | { readonly kind: 'negate'; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: '+' | '-' | '*' | '/' | '**'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'call'; readonly fn: FunctionName; readonly args: readonly Expr[] };

/** One axis of a crop: [start, stop) with Python's meaning of null and negative values. */
export interface SliceRange {
  readonly start: number | null;
  readonly stop: number | null;
}

export type LambdaStatement =
  | { readonly kind: 'identity' }
  | { readonly kind: 'elementwise'; readonly expr: Expr }
  | { readonly kind: 'crop'; readonly slices: readonly SliceRange[] };

/** Functions an expression may call, with their number of arguments. */
const FUNCTIONS = {
  abs: 1,
  sqrt: 1,
  exp: 1,
  log: 1,
  tanh: 1,
  sigmoid: 1,
  relu: 1,
  square: 1,
  minimum: 2,
  maximum: 2,
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

const MAX_LENGTH = 500;

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number };

function tokenize(text: string, fail: (why: string) => never): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/(),:\[\]]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s+$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) fail(`unexpected character '${text.slice(at).trim()[0]}' at position ${at + 1}`);
    const start = m.index + m[0].length - (m[1] ?? m[2] ?? m[3])!.length;
    if (m[1] !== undefined) tokens.push({ kind: 'number', value: Number(m[1]), at: start });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', value: m[2], at: start });
    else tokens.push({ kind: 'op', value: m[3]!, at: start });
    at = pattern.lastIndex;
  }
  return tokens;
}

/** Parses what the user states for Lambda layer `layer`; a UsageError says what is wrong and where. */
export function parseLambda(layer: string, text: string): LambdaStatement {
  const fail = (why: string): never => {
    throw new UsageError(
      `The expression '${text}' stated for Lambda layer '${layer}' cannot be used: ${why}. State an elementwise expression in x (for example 'x / 127.5 - 1'), a crop 'x[:, 2:-2, 2:-2, :]', or identity.`,
      { concept: 'lambda' },
    );
  };
  if (text.length > MAX_LENGTH) fail(`it is longer than ${MAX_LENGTH} characters`);
  if (text.trim() === 'identity') return { kind: 'identity' };
  const tokens = tokenize(text, fail);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const isOp = (value: string): boolean => peek()?.kind === 'op' && peek()!.value === value;
  const expect = (value: string): void => {
    if (!isOp(value)) fail(peek() ? `expected '${value}' at position ${peek()!.at + 1}` : `expected '${value}' at the end`);
    i++;
  };

  const crop = (): LambdaStatement => {
    i += 2;
    const slices: SliceRange[] = [];
    const bound = (): number | null => {
      let sign = 1;
      if (isOp('-')) {
        sign = -1;
        i++;
      }
      const t = peek();
      if (t?.kind === 'number' && Number.isInteger(t.value)) {
        i++;
        return sign * t.value;
      }
      if (sign === -1) fail('a slice bound must be an integer');
      return null;
    };
    for (;;) {
      const start = bound();
      if (isOp(':')) {
        i++;
        slices.push({ start, stop: bound() });
      } else {
        fail(`a crop takes start:stop ranges, not single indices (axis ${slices.length})`);
      }
      if (isOp(',')) {
        i++;
        continue;
      }
      expect(']');
      break;
    }
    if (i !== tokens.length) fail('a crop must be the whole statement');
    return { kind: 'crop', slices };
  };

  const expression = (): Expr => {
    let left = term();
    while (isOp('+') || isOp('-')) {
      const op = tokens[i++]!.value as '+' | '-';
      left = { kind: 'binary', op, left, right: term() };
    }
    return left;
  };
  const term = (): Expr => {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = tokens[i++]!.value as '*' | '/';
      left = { kind: 'binary', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (isOp('-')) {
      i++;
      return { kind: 'negate', arg: unary() };
    }
    const base = atom();
    if (isOp('**')) {
      i++;
      return { kind: 'binary', op: '**', left: base, right: unary() };
    }
    return base;
  };
  const atom = (): Expr => {
    const t = peek();
    if (!t) return fail('it ends too early');
    i++;
    if (t.kind === 'number') return { kind: 'number', value: t.value };
    if (t.kind === 'op' && t.value === '(') {
      const inner = expression();
      expect(')');
      return inner;
    }
    if (t.kind === 'name' && t.value === 'x') {
      if (isOp('[')) fail('a crop x[...] must be the whole statement');
      return { kind: 'x' };
    }
    if (t.kind === 'name' && Object.hasOwn(FUNCTIONS, t.value)) {
      const fn = t.value as FunctionName;
      expect('(');
      const args = [expression()];
      while (isOp(',')) {
        i++;
        args.push(expression());
      }
      expect(')');
      if (args.length !== FUNCTIONS[fn]) fail(`${fn} takes ${FUNCTIONS[fn]} argument${FUNCTIONS[fn] > 1 ? 's' : ''}, but received ${args.length}`);
      return { kind: 'call', fn, args };
    }
    if (t.kind === 'name') return fail(`'${t.value}' is neither x nor one of the functions ${Object.keys(FUNCTIONS).join(', ')}`);
    return fail(`unexpected '${t.value}' at position ${t.at + 1}`);
  };

  if (tokens[0]?.kind === 'name' && tokens[0].value === 'x' && tokens[1]?.kind === 'op' && tokens[1].value === '[') return crop();
  const expr = expression();
  if (i !== tokens.length) fail(`unexpected '${String(tokens[i]!.value)}' at position ${tokens[i]!.at + 1}`);
  if (!usesX(expr)) fail('it does not use x');
  return { kind: 'elementwise', expr };
}

function usesX(expr: Expr): boolean {
  if (expr.kind === 'x') return true;
  if (expr.kind === 'number') return false;
  if (expr.kind === 'negate') return usesX(expr.arg);
  if (expr.kind === 'binary') return usesX(expr.left) || usesX(expr.right);
  return expr.args.some(usesX);
}

/**
 * The [begin, size) a crop takes along an axis of length `n`, or undefined when the range is empty.
 * For an axis of unknown length (null), size is known only for two non-negative ends.
 */
export function sliceBounds(range: SliceRange, n: number | null): { begin: number; size: number | null } | undefined {
  if (n === null) {
    const { start, stop } = range;
    if (start !== null && start >= 0 && stop !== null && stop >= 0) return stop > start ? { begin: start, size: stop - start } : undefined;
    return { begin: Math.max(start ?? 0, 0), size: null };
  }
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const begin = range.start === null ? 0 : clamp(range.start);
  const end = range.stop === null ? n : clamp(range.stop);
  return end > begin ? { begin, size: end - begin } : undefined;
}
