import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConvscopeError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import type { ActivationsView } from './activations-view.js';
import { embedModel } from './embed.js';

export interface ReportInput {
  /** One model, or two (before, after) for the diff view. */
  models: readonly Model[];
  /** Precomputed activations views (one per layer) for the report's image. */
  activations?: readonly ActivationsView[];
  outputShapes?: readonly ReadonlyMap<string, (number | null)[]>[];
  /** The built client folder (report.js, app-style.css, index.html). */
  assetDir: string;
  /** Weights larger than this are described but left out (default DEFAULT_MAX_WEIGHT_BYTES). */
  maxWeightBytes?: number;
}

/** JSON that is safe inside <script>: no `<` can end the element early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function inline(html: string, marker: string, replacement: string): string {
  if (!html.includes(marker)) throw new ConvscopeError(`The viewer's index.html lacks '${marker}', so the report cannot be assembled.`);
  return html.replace(marker, () => replacement);
}

/**
 * One self-contained HTML file: the viewer's page with its CSS and the report script inline and the
 * models' weights embedded, so it opens offline, from disk or as an attachment, with every view.
 * Nothing in it refers to the network.
 */
export async function buildReport(input: ReportInput): Promise<string> {
  const [html, css, js] = await Promise.all(['index.html', 'app-style.css', 'report.js'].map((f) => readFile(join(input.assetDir, f), 'utf8')));
  if (/<\/script/i.test(js!) || /<\/style/i.test(css!)) {
    throw new ConvscopeError('The built report script contains a closing tag, so it cannot be inlined; rebuild with `npm run build`.');
  }
  const models = [];
  for (const [i, m] of input.models.entries()) models.push(await embedModel(m, input.outputShapes?.[i], input.maxWeightBytes));
  const data = { models, activations: input.activations ?? [] };
  let page = inline(html!, '<link rel="stylesheet" href="app-style.css">', `<style>${css}</style>`);
  page = inline(
    page,
    '<script type="module" src="app.js"></script>',
    `<script id="convscope-data" type="application/json">${scriptJson(data)}</script>\n<script type="module">${js}</script>`,
  );
  const names = input.models.map((m) => m.source.split(/[\\/]/).pop()).join(' vs ');
  return inline(page, '<title>convscope viewer</title>', `<title>convscope report: ${names.replace(/[<&]/g, '')}</title>`);
}
