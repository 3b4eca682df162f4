import type { ModelDiff } from '../analyze/diff.js';
import { escapeHtml, htmlPage } from './html.js';
import { toBase64 } from './scene-svg.js';
import { formatCosine, formatNumber, formatPercent, formatShape } from '../model/format.js';

export interface DiffPageGrid {
  layer: string;
  weight: string;
  /** Image sources: file names (directory output) or data: URIs (single file). */
  before: string;
  after: string;
  delta: string;
  caption: string;
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${toBase64(png)}`;
}

/** A self-contained page: verdict, diagnosis, the per-weight table and before / after / delta grids. */
export function diffPage(diff: ModelDiff, grids: readonly DiffPageGrid[]): string {
  const rows = diff.layers
    .flatMap((l) =>
      l.weights.map(
        (w) =>
          `<tr class="${w.verdict}"><td>${escapeHtml(l.afterName === l.name ? l.name : `${l.name} -> ${l.afterName}`)}</td><td>${escapeHtml(w.weight)}</td>` +
          `<td>${formatShape(w.shape)}</td><td>${w.verdict}</td><td>${formatNumber(w.relativeChange)}</td><td>${formatNumber(w.maxAbsChange)}</td>` +
          `<td>${formatPercent(w.unchangedFraction)}</td><td>${formatCosine(w.cosine)}</td></tr>`,
      ),
    )
    .join('\n');
  const figures = grids
    .map(
      (g) =>
        `<section><h2>${escapeHtml(`${g.layer} ${g.weight}`)}</h2><p>${escapeHtml(g.caption)}</p>\n<div class="row">` +
        [g.before, g.after, g.delta].map((src, i) => `<img alt="${['before', 'after', 'delta'][i]} ${escapeHtml(g.layer)}" src="${escapeHtml(src)}">`).join('') +
        `</div></section>`,
    )
    .join('\n');
  const list = (items: readonly string[]) => `<ul>${items.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>`;
  const body = `<p>before: <code>${escapeHtml(diff.before)}</code><br>after: <code>${escapeHtml(diff.after)}</code></p>
<p class="verdict">verdict: <strong>${escapeHtml(diff.summary.verdict)}</strong></p>
<h2>Diagnosis</h2>
${list(diff.summary.diagnosis)}
${diff.notes.length > 0 ? `<h2>Notes</h2>${list(diff.notes)}` : ''}
${diff.onlyBefore.length + diff.onlyAfter.length > 0 ? `<p>only in before: ${escapeHtml(diff.onlyBefore.join(', ') || '-')}; only in after: ${escapeHtml(diff.onlyAfter.join(', ') || '-')}</p>` : ''}
<h2>Per weight</h2>
<table>
<tr><th>layer</th><th>weight</th><th>shape</th><th>verdict</th><th>relative change</th><th>max |change|</th><th>unchanged</th><th>cosine</th></tr>
${rows}
</table>
<h2>Filters before, after and the change</h2>
${figures || '<p>No convolution kernel moved.</p>'}`;
  return htmlPage(
    'Did training change the weights?',
    body,
    `tr.exploded td { background: #fdd; } tr.barely-changed td { background: #ffd; } tr.unchanged td { color: #888; }
img { margin-right: 1em; max-width: 32%; vertical-align: top; }
.verdict { font-size: 1.3em; }`,
  );
}
