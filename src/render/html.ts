/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** convscope's page style: readable text, monospace figures and tables, pixel-exact images. */
const BASE_CSS = `body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
img { max-width: 100%; border: 1px solid #ddd; }
img[src$=".png"], img[src^="data:image/png"] { image-rendering: pixelated; }
table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 0.9em; }
td, th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
section { margin: 2em 0; }
li { font-family: ui-monospace, monospace; font-size: 0.9em; }`;

/**
 * One self-contained HTML document (no external assets): the shared style plus `css`, an `<h1>` with
 * `title`, then `body` (already HTML).
 */
export function htmlPage(title: string, body: string, css = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${BASE_CSS}
${css}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
