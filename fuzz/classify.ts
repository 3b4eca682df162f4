/**
 * What a fuzz case's outcome was, and whether a typed error's message is fit to show: one sentence,
 * never `undefined`, `NaN`, `[object Object]`, control bytes or U+FFFD.
 */
export const OUTCOMES = ['ok', 'typed error', 'internal error', 'crash', 'hang', 'over memory'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Why a user-facing message is unfit, or undefined when it is fine. */
export function messageProblem(message: string): string | undefined {
  if (/\bundefined\b/.test(message)) return "contains 'undefined'";
  if (/\bNaN\b/.test(message)) return "contains 'NaN'";
  if (message.includes('[object ')) return "contains '[object ...]'";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(message)) return 'contains a control character';
  if (message.includes('\ufffd')) return 'contains U+FFFD';
  if (/[\ud800-\udfff]/.test(message.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return 'contains a lone surrogate';
  if (message.trim() === '') return 'is empty';
  if (message.length > 2000) return `is ${message.length} characters long`;
  return undefined;
}
