import { toBase64 } from './scene-svg.js';

export interface IndexEntry {
  title: string;
  /** File name of the image, relative to the page. */
  file: string;
  png: Uint8Array;
  /** Lines printed under the image (scale, dead filters, warnings). */
  lines: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
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
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(heading)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
h2 { font-size: 1.05em; font-family: ui-monospace, monospace; }
section { margin-bottom: 2.5em; }
li { font-family: ui-monospace, monospace; font-size: 0.9em; }
</style>
</head>
<body>
<h1>${escapeHtml(heading)}</h1>
<ol>
${toc}
</ol>
${sections.join('\n')}
</body>
</html>
`;
}
