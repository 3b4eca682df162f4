import { trackTemporary } from '../io/temp-files.js';
import { open, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConvscopeError } from '../model/errors.js';
import type { Model, Note } from '../model/model.js';
import type { ActivationsView } from './activations-view.js';
import type { DetectsSection } from '../views/detects-view.js';
import { embedLayer, embedNotes, modelHeader, type EmbedOptions, type EmbedTally } from './embed.js';

export interface ReportInput extends EmbedOptions {
  /** One model, or two (before, after) for the diff view. */
  models: readonly Model[];
  /** Precomputed activations views (one per layer) for the report's image. */
  activations?: readonly ActivationsView[];
  /** Notes about the activations (for example layers left out to keep the report small). */
  activationNotes?: readonly Note[];
  outputShapes?: readonly ReadonlyMap<string, (number | null)[]>[];
  /** The "what it detects" section of the first model. */
  detects?: DetectsSection;
  /** The built client folder (report.js, app-style.css, index.html). */
  assetDir: string;
}

export interface WrittenReport {
  bytes: number;
  /** What the report says it left out or rounded, per model. */
  notes: Note[];
}

/** JSON that is safe inside <script>: no `<` can end the element early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function split(html: string, marker: string): [string, string] {
  const at = html.indexOf(marker);
  if (at < 0) throw new ConvscopeError(`The viewer's index.html lacks '${marker}', so the report cannot be assembled.`);
  return [html.slice(0, at), html.slice(at + marker.length)];
}

/**
 * Writes one self-contained HTML file: the viewer's page with its CSS and the report script inline and
 * the models' weights embedded, so it opens offline, from disk or as an attachment, with every view.
 * Nothing in it refers to the network. The file is written layer by layer (each weight read, encoded,
 * written and dropped), so memory is bounded by the largest weight, and renamed into place when complete.
 */
export async function writeReport(input: ReportInput, outPath: string): Promise<WrittenReport> {
  const [html, css, js] = await Promise.all(['index.html', 'app-style.css', 'report.js'].map((f) => readFile(join(input.assetDir, f), 'utf8')));
  if (/<\/script/i.test(js!) || /<\/style/i.test(css!)) {
    throw new ConvscopeError('The built report script contains a closing tag, so it cannot be inlined; rebuild with `npm run build`.');
  }
  const names = input.models.map((m) => m.source.split(/[\\/]/).pop()).join(' vs ');
  const page = html!
    .replace('<title>convscope viewer</title>', () => `<title>convscope report: ${names.replace(/[<&]/g, '')}</title>`)
    .replace('<link rel="stylesheet" href="app-style.css">', () => `<style>${css}</style>`);
  const [head, tail] = split(page, '<script type="module" src="app.js"></script>');

  await mkdir(dirname(outPath), { recursive: true });
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${Date.now()}.tmp`);
  const done = trackTemporary(tmp);
  const file = await open(tmp, 'w');
  let bytes = 0;
  const write = async (text: string): Promise<void> => {
    const buf = Buffer.from(text, 'utf8');
    bytes += buf.length;
    await file.write(buf);
  };
  const notes: Note[] = [];
  try {
    await write(`${head}<script id="convscope-data" type="application/json">{"models":[`);
    for (const [i, model] of input.models.entries()) {
      const tally: EmbedTally = { left: [], halved: [] };
      await write(`${i > 0 ? ',' : ''}${scriptJson(modelHeader(model, input.outputShapes?.[i] ?? new Map())).slice(0, -1)},"layers":[`);
      for (const [j, layer] of model.layers.entries()) await write(`${j > 0 ? ',' : ''}${scriptJson(await embedLayer(layer, input, tally))}`);
      const modelNotes = [...(model.notes ?? []), ...embedNotes(tally, input), ...(i === 0 ? (input.activationNotes ?? []) : [])];
      notes.push(...embedNotes(tally, input));
      await write(`],"notes":${scriptJson(modelNotes)}}`);
    }
    await write(`],"activations":${scriptJson(input.activations ?? [])}${input.detects ? `,"detects":${scriptJson(input.detects)}` : ''}}</script>\n<script type="module">${js}</script>${tail}`);
    await file.close();
    await rename(tmp, outPath);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  } finally {
    done();
  }
  return { bytes, notes };
}
