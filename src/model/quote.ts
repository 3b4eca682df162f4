/**
 * The one way a value from a file goes into a message: briefly, and never as `undefined`, `NaN`,
 * `[object Object]`, raw control bytes or U+FFFD. Strings are single-quoted with non-printable
 * characters escaped (`\x07`, `\ufffd`) and cut to `max` characters; other values are described
 * without walking into them, so a 100,000-deep JSON value cannot overflow the stack here.
 */
export function quote(value: unknown, max = 80): string {
  if (typeof value === 'string') return `'${escapeText(value, max)}'`;
  return describe(value, max);
}

/** The text with every character outside printable Unicode escaped, cut to `max` characters ("..." marks a cut). */
export function escapeText(text: string, max = 80): string {
  let out = '';
  let shown = 0;
  for (const ch of text) {
    if (shown >= max) return `${out}...`;
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0) || code === 0xfffd || (code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) {
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    } else if (ch === "'" || ch === '\\') {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
    shown++;
  }
  return out;
}

function describe(value: unknown, max: number): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'not-a-number' : value > 0 ? 'infinity' : '-infinity';
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return quote(value, max);
  const json = briefJson(value, 3, max);
  if (json !== undefined) return escapeText(json, max);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const simple = value.length <= 8 && value.every((v) => typeof v === 'number' || typeof v === 'boolean' || v === null);
    return simple ? `[${value.map((v) => describe(v, max)).join(', ')}]` : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  if (ArrayBuffer.isView(value)) return `${value.byteLength} bytes of binary data`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const shown = keys.slice(0, 4).map((k) => `'${escapeText(k, 30)}'`).join(', ');
    return `an object with key${keys.length === 1 ? '' : 's'} ${shown}${keys.length > 4 ? ` and ${keys.length - 4} more` : ''}`;
  }
  return `a ${typeof value}`;
}

/**
 * A message made safe to print: control characters, U+FFFD, lone surrogates and bidirectional
 * overrides escaped, everything else kept. Every ConvscopeError's message goes through it.
 */
export function cleanMessage(message: string): string {
  return message.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\ufffd\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Small plain JSON values as JSON text (at most `depth` levels and `max` characters), else undefined. */
function briefJson(value: unknown, depth: number, max: number): string | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (depth === 0 || typeof value !== 'object' || ArrayBuffer.isView(value)) return undefined;
  const parts: string[] = [];
  let length = 2;
  const entries = Array.isArray(value) ? value.map((v) => [undefined, v] as const) : Object.entries(value as object);
  for (const [k, v] of entries) {
    const inner = briefJson(v, depth - 1, max);
    if (inner === undefined) return undefined;
    const part = k === undefined ? inner : `${JSON.stringify(k)}:${inner}`;
    length += part.length + 1;
    if (length > max) return undefined;
    parts.push(part);
  }
  return Array.isArray(value) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
}
