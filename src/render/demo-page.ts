import { escapeHtml, htmlPage } from './html.js';

export interface DemoPageSection {
  heading: string;
  /** Paragraph lines (plain text, escaped here). */
  lines: readonly string[];
  /** Links to pages or files, relative to the index. */
  links?: readonly { text: string; href: string }[];
  /** Images shown inline, relative to the index. */
  images?: readonly { alt: string; src: string }[];
}

/** The demo's index page: one section per step of the story, linking every file it wrote. */
export function demoPage(title: string, sections: readonly DemoPageSection[]): string {
  const body = sections
    .map(
      (s) =>
        `<section>\n<h2>${escapeHtml(s.heading)}</h2>\n` +
        s.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n') +
        (s.links?.length ? `\n<ul>${s.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></li>`).join('')}</ul>` : '') +
        (s.images ?? []).map((im) => `\n<a href="${escapeHtml(im.src)}"><img alt="${escapeHtml(im.alt)}" src="${escapeHtml(im.src)}"></a>`).join('') +
        `\n</section>`,
    )
    .join('\n');
  return htmlPage(
    title,
    body,
    `body { max-width: 72em; }
img { margin: 0.5em 1em 0.5em 0; vertical-align: top; }
p { font-family: ui-monospace, monospace; font-size: 0.9em; margin: 0.2em 0; white-space: pre-wrap; }`,
  );
}
