import type { Backend } from './backend.js';
import { clear, h, setStatus } from './dom.js';
import { Router, type ViewState } from './state.js';
import { activationsTab } from './ui/activations.js';
import { detectsTab } from './ui/detects.js';
import { diffTab } from './ui/diff.js';
import { graphTab } from './ui/graph.js';
import { layersTab } from './ui/layers.js';
import { runSlider } from './ui/run.js';
import { setSurface, viewerError } from './wording.js';

export function fail(e: unknown): void {
  setStatus(viewerError(e), 'error');
}

/** Tab names shown otherwise than their URL name. */
const LABELS: Record<string, string> = { detects: 'what it detects' };

interface Tab {
  apply(state: ViewState): Promise<void>;
  /** Called when another tab replaces this one (a tab stops its long work here). */
  leave?(): void;
}

/** A picker of the backend's models (shown when it has more than one), choosing the state's `model`. */
function modelPicker(backend: Backend, router: Router): HTMLElement | null {
  const models = backend.models();
  if (models.length < 2) return null;
  return h(
    'label',
    { class: 'model-picker' },
    'model ',
    h(
      'select',
      { 'data-testid': 'model-select', onchange: (e: Event) => router.push({ model: Number((e.target as HTMLSelectElement).value), layer: undefined, filter: undefined, channel: undefined, page: undefined }) },
      ...models.map((m) => h('option', { value: m.id, selected: m.id === router.current.model }, m.name)),
    ),
  );
}

/**
 * Builds the tabs a backend supports (layers; graph; activations; what it detects; diff with two models or more), shows what the
 * URL names, and follows every later change of it (clicks, keys, Back and Forward). `extra` is put in the
 * header (the browser's "open another model"); `go` is where to go at once (the model just opened).
 */
let router: Router | undefined;

export function startApp(backend: Backend, extra?: HTMLElement, go?: Partial<ViewState>): void {
  const app = document.getElementById('app')!;
  const tabs = document.getElementById('tabs')!;
  const title = document.getElementById('model-title')!;
  // One router for the page: starting again (another model opened) keeps the history.
  router ??= new Router();
  setSurface(backend.kind);
  const nav = router;
  const names: string[] = ['layers', 'graph'];
  if (backend.canActivate()) names.push('activations');
  names.push('detects');
  if (backend.models().length > 1) names.push('diff');
  let shown: { name: string; tab: Tab } | undefined;
  let queue: Promise<void> = Promise.resolve();

  const buttons = names.map((name) => h('button', { type: 'button', role: 'tab', 'data-tab': name, onclick: () => nav.push({ tab: name }) }, LABELS[name] ?? name));
  clear(tabs, ...buttons);
  tabs.setAttribute('role', 'tablist');
  tabs.setAttribute('aria-label', 'views');
  const run = h('span', { class: 'run' });
  clear(title, modelPicker(backend, nav) ?? backend.models()[0]?.name ?? '', run, extra ?? null);
  const header = (state: ViewState): void => {
    for (const b of buttons) {
      const on = b.getAttribute('data-tab') === state.tab;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', String(on));
    }
    const picker = title.querySelector<HTMLSelectElement>('[data-testid=model-select]');
    if (picker) picker.value = String(state.model);
    clear(run, runSlider(backend, nav, state));
  };

  const build = async (state: ViewState): Promise<Tab> => {
    if (state.tab === 'activations') return activationsTab(app, backend, nav);
    if (state.tab === 'diff') return diffTab(app, backend, nav);
    if (state.tab === 'graph') return graphTab(app, backend, nav);
    if (state.tab === 'detects') return detectsTab(app, backend, nav);
    return layersTab(app, backend, nav);
  };

  const show = async (state: ViewState): Promise<void> => {
    const tab = names.includes(state.tab) ? state.tab : 'layers';
    header({ ...state, tab });
    if (shown?.name !== tab) {
      setStatus('');
      shown?.tab.leave?.();
      shown = { name: tab, tab: await build({ ...state, tab }) };
    }
    await shown.tab.apply(nav.current);
  };

  // One change at a time, in order; each shows the latest state when its turn comes.
  nav.onChange(() => {
    queue = queue.then(() => show(nav.current)).catch(fail);
  });
  if (go) nav.push({ tab: 'layers', layer: undefined, filter: undefined, channel: undefined, page: undefined, ...go });
  else queue = show(nav.current).catch(fail);
}
