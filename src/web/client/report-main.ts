import type { ActivationsView } from '../activations-view.js';
import type { DetectsSection } from '../../views/detects-view.js';
import { restoreModel, type EmbeddedModel } from '../embed.js';
import { fail, startApp } from './app.js';
import { LocalBackend } from './local-backend.js';

/** What `convscope report` writes into the page, in <script id="convscope-data" type="application/json">. */
export interface ReportData {
  models: EmbeddedModel[];
  activations: ActivationsView[];
  /** The "what it detects" section, when the report has one. */
  detects?: DetectsSection;
}

/** A report: the models' weights are embedded, so every view is drawn offline by the same code as the viewer. */
function boot(): void {
  const el = document.getElementById('convscope-data');
  if (!el?.textContent) throw new Error('This report has no embedded data.');
  const report = JSON.parse(el.textContent) as ReportData;
  const shapes = report.models.map((m) => new Map(Object.entries(m.outputShapes)));
  const extras = report.models.map((m) => new Map(m.layers.filter((l) => l.picture || l.histograms).map((l) => [l.name, { picture: l.picture, histograms: l.histograms }])));
  startApp(new LocalBackend('report', report.models.map(restoreModel), report.activations, shapes, extras, report.detects));
}

try {
  boot();
} catch (e) {
  fail(e);
}
