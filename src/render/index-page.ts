import { escapeHtml, htmlPage } from './html.js';
import { toBase64 } from './scene-svg.js';

export interface IndexEntry {
  title: string;
  /** File name of the image, relative to the page. */
  file: string;
  png: Uint8Array;
  /** Lines printed under the image (scale, dead filters, warnings). */
  lines: string[];
}

/** A self-contained HTML page: every image embedded (data URI) and linked to its file. */
export function indexPage(heading: string, entries: readonly IndexEntry[]): string {
  const sections = entries.map(
    (e) =>
      `<section id="${escapeHtml(e.file)}">\n<h2>${escapeHtml(e.title)}</h2>\n` +
      `<a href="${escapeHtml(e.file)}"><img alt="${escapeHtml(e.title)}" src="data:image/png;base64,${toBase64(e.png)}"></a>\n` +
      `<ul>${e.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>\n</section>`,
  );
  const toc = entries.map((e) => `<li><a href="#${escapeHtml(e.file)}">${escapeHtml(e.title)}</a></li>`).join('\n');
  return htmlPage(heading, `<ol>\n${toc}\n</ol>\n${sections.join('\n')}`, 'h2 { font-size: 1.05em; font-family: ui-monospace, monospace; }');
}
