import type { ActivationsView } from '../activations-view.js';
import { restoreModel, type EmbeddedModel } from '../embed.js';
import { fail, startApp } from './app.js';
import { LocalBackend } from './local-backend.js';

/** What `convscope report` writes into the page, in <script id="convscope-data" type="application/json">. */
export interface ReportData {
  models: EmbeddedModel[];
  activations: ActivationsView[];
}

/** A report: the models' weights are embedded, so every view is drawn offline by the same code as the viewer. */
function boot(): void {
  const el = document.getElementById('convscope-data');
  if (!el?.textContent) throw new Error('This report has no embedded data.');
  const report = JSON.parse(el.textContent) as ReportData;
  const shapes = report.models.map((m) => new Map(Object.entries(m.outputShapes)));
  startApp(new LocalBackend('report', report.models.map(restoreModel), report.activations, shapes));
}

try {
  boot();
} catch (e) {
  fail(e);
}
