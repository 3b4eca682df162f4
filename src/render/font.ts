import dejavu from './font-dejavu-12.json' with { type: 'json' };

/**
 * Text for PNG output: DejaVu Sans at 12 px, rasterized once with FreeType's anti-aliasing
 * (scripts/make-font.py writes font-dejavu-12.json: per glyph its advance, bounding box and 8-bit
 * coverage), so figures read at 100 % zoom in pure JS, in Node and in the browser alike. SVG output
 * names the same font in real <text>.
 */
interface Glyph {
  advance: number;
  left: number;
  top: number;
  width: number;
  height: number;
  alpha: string;
}

interface FontData {
  font: string;
  px: number;
  ascent: number;
  descent: number;
  capHeight: number;
  capTop: number;
  glyphs: Record<string, Glyph>;
}

const FONT = dejavu as FontData;

/** The font's family and pixel size, for SVG text drawn to match. */
export const FONT_FAMILY = FONT.font;
export const FONT_PX = FONT.px;
/** Height in px of one line of text from the top of the capitals to the bottom of the descenders. */
export const FONT_HEIGHT = FONT.capHeight + FONT.descent;
/** Height of capitals and digits: the part of a line labels are aligned on. */
export const CAP_HEIGHT = FONT.capHeight;
/** Distance from the top of the capitals to the baseline. */
export const BASELINE = FONT.capHeight;

interface Decoded {
  glyph: Glyph;
  coverage: Uint8Array;
}

const decoded = new Map<string, Decoded>();

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function glyphOf(ch: string): Decoded {
  let d = decoded.get(ch);
  if (!d) {
    const glyph = FONT.glyphs[ch] ?? FONT.glyphs['?']!;
    d = { glyph, coverage: base64Bytes(glyph.alpha) };
    decoded.set(ch, d);
  }
  return d;
}

/** Width in px of `text` (the sum of advances, rounded up). */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += glyphOf(ch).glyph.advance;
  return Math.ceil(w);
}

/**
 * Calls `plot(x, y, coverage)` (coverage 1..255) for every pixel `text` touches, with the top of its
 * capitals at y0 and its first advance starting at x0.
 */
export function forEachTextPixel(text: string, x0: number, y0: number, plot: (x: number, y: number, coverage: number) => void): void {
  let pen = x0;
  const top = y0 - FONT.capTop;
  for (const ch of text) {
    const { glyph, coverage } = glyphOf(ch);
    const gx = Math.round(pen) + glyph.left;
    for (let r = 0; r < glyph.height; r++) {
      for (let c = 0; c < glyph.width; c++) {
        const a = coverage[r * glyph.width + c]!;
        if (a) plot(gx + c, top + glyph.top + r, a);
      }
    }
    pen += glyph.advance;
  }
}
