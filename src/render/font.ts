import sevenPlus from 'js-pixel-fonts/data/seven-plus.json' with { type: 'json' };

/**
 * Text for PNG output, drawn with the "Seven plus" pixel font of the js-pixel-fonts package
 * (7 px tall capitals and digits, descenders to 9 px). Only the font's data is used, so this stays
 * browser-safe. SVG output uses real <text> instead.
 */
interface Glyph {
  offset: number;
  pixels: number[][];
}

const GLYPHS = (sevenPlus as { glyphs: Record<string, Glyph> }).glyphs;

/** Height in px of one line of text, descenders included. */
export const FONT_HEIGHT = 9;
/** Height of capitals and digits: the part of a line labels are aligned on. */
export const CAP_HEIGHT = 7;

function glyphOf(ch: string): Glyph {
  return GLYPHS[ch] ?? GLYPHS['?']!;
}

function glyphWidth(g: Glyph): number {
  return g.pixels.reduce((w, row) => Math.max(w, row.length), 0);
}

/** Width in px of `text` at scale 1 (one blank column between glyphs). */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += glyphWidth(glyphOf(ch)) + 1;
  return Math.max(0, w - 1);
}

/** Calls `plot(x, y)` for every lit pixel of `text` whose top-left corner is (x0, y0). */
export function forEachTextPixel(text: string, x0: number, y0: number, plot: (x: number, y: number) => void): void {
  let x = x0;
  for (const ch of text) {
    const g = glyphOf(ch);
    g.pixels.forEach((row, r) => {
      row.forEach((on, c) => {
        if (on) plot(x + c, y0 + g.offset + r);
      });
    });
    x += glyphWidth(g) + 1;
  }
}
