import { ATTRIBUTION_METHODS } from '../../../analyze/choices.js';
import { formatNumber } from '../../../model/format.js';
import { METHOD_NAMES } from '../../../views/attribution-view.js';
import type { DetectsInfo, DetectsPart, DetectsView } from '../../../views/detects-view.js';
import { Cancelled, type Backend, type DetectsInput } from '../backend.js';
import { clear, h } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { viewerError, viewerNote } from '../wording.js';
import { PREPROCESSING, RESIZING } from './activations.js';

/** The window of filters drawn at once. */
const WINDOW = 8;

const PARTS: { part: DetectsPart; label: string; hint: string }[] = [
  { part: 'maximize', label: 'maximize', hint: 'images optimised to excite each filter (activation maximization)' },
  { part: 'examples', label: 'dataset examples', hint: 'the images of a data set that excite each filter most, cropped to its receptive field' },
  { part: 'attribution', label: 'attribution', hint: 'where the network looks in a photograph to score a class' },
];

/** The menu's step counts, with a link's own count among them so that the menu says what runs. */
function stepChoices(steps: number): number[] {
  return [...new Set([32, 64, 128, 256, steps])].sort((a, b) => a - b);
}

function select(testid: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void, disabled = false): HTMLLabelElement {
  const el = h('select', { 'data-testid': testid, disabled, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return h('label', {}, `${label} `, el);
}

/** A cache key for a choice: the same model, part and options give the same result. */
function keyOf(model: number, input: DetectsInput): string {
  const { file, ...rest } = input;
  return JSON.stringify([model, rest, file ? [file.name, file.size, file.lastModified] : null]);
}

function resultOf(view: DetectsView, labels: readonly string[] | undefined): HTMLElement {
  const picture = h('img', { src: view.picture, alt: view.alt, 'data-testid': 'detects-picture', class: 'fit' });
  picture.addEventListener('click', () => picture.classList.toggle('fit'));
  const named = view.top?.some((t) => (t.label ?? labels?.[t.index]) !== undefined);
  const top = view.top
    ? h(
        'table',
        { class: 'top-outputs', 'data-testid': 'detects-top' },
        h('caption', {}, 'top outputs'),
        h('tr', {}, h('th', { scope: 'col' }, 'class'), named ? h('th', { scope: 'col' }, 'name') : null, h('th', { scope: 'col' }, 'value')),
        ...view.top.map((t) =>
          h('tr', { class: t.index === view.classIndex ? 'selected' : undefined }, h('td', {}, t.index), named ? h('td', {}, t.label ?? labels?.[t.index] ?? '') : null, h('td', { class: 'num' }, formatNumber(t.score))),
        ),
      )
    : null;
  return h(
    'div',
    { class: 'detects-result', 'data-testid': 'detects-result', 'data-part': view.part },
    h('div', { class: 'picture-box' }, picture),
    h('div', { class: 'detects-text' }, ...view.lines.map((line) => h('p', { class: 'hint' }, line)), top, h('p', { class: 'hint' }, 'click the picture for its full size')),
  );
}

/**
 * The "what it detects" tab: for the chosen layer and a window of its filters, activation maximization,
 * dataset examples and attribution of a photograph, one part at a time. Every choice is in the URL;
 * each run shows its progress and can be cancelled; results are kept per choice, so going back is
 * instant. Where the model cannot do a part, the tab says why in a sentence. Leaving the tab, or the
 * page, cancels a run in progress.
 */
export function detectsTab(root: HTMLElement, backend: Backend, router: Router): { apply(state: ViewState): Promise<void>; leave(): void } {
  const cache = new Map<string, DetectsView>();
  const controls = h('div', { class: 'controls', 'data-testid': 'detects-controls' });
  const parts = h('div', { class: 'part-buttons', role: 'group', 'aria-label': 'what to show' });
  const options = h('div', { class: 'controls', 'data-testid': 'detects-options' });
  const why = h('p', { class: 'note', 'data-testid': 'detects-why' });
  const notes = h('ul', { class: 'notes', 'data-testid': 'detects-notes' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'progress' });
  // The panel's one place for a run's progress and its error (the header's status line stays quiet).
  const message = h('span', { 'data-testid': 'detects-message', role: 'status' });
  const cancel = h('button', { type: 'button', 'data-testid': 'detects-cancel', hidden: true }, 'cancel');
  const out = h('section', { class: 'detects-out', 'aria-live': 'polite', 'aria-label': 'result' });
  const file = h('input', { type: 'file', accept: 'image/*', 'data-testid': 'detects-upload' });
  let uploaded: File | undefined;
  let info: DetectsInfo | undefined;
  let infoModel = -1;
  let running: AbortController | undefined;
  let shownKey = '';
  let runs = 0;

  clear(root, h('div', { class: 'detects-tab' }, controls, parts, options, why, notes, h('div', { class: 'progress' }, progress, message, cancel), out));
  cancel.addEventListener('click', () => running?.abort());
  file.addEventListener('change', () => {
    uploaded = file.files?.[0];
    if (uploaded) router.replace({ sample: undefined });
  });

  const input = (state: ViewState, i: DetectsInfo, layer: string | undefined, part: DetectsPart): DetectsInput => {
    const first = Math.floor((state.filter ?? 0) / WINDOW) * WINDOW;
    const count = i.layers.find((l) => l.name === layer)?.filters ?? WINDOW;
    const sample = state.sample ?? backend.samples()[0];
    return {
      part,
      layer,
      filters: [first, Math.max(first, Math.min(first + WINDOW, count) - 1)],
      objective: state.objective ?? 'channel',
      steps: state.steps ?? 64,
      data: state.data ?? 0,
      top: 6,
      statistic: state.statistic ?? 'max',
      method: state.method ?? 'gradcam',
      classIndex: state.class,
      preprocess: state.preprocess ?? 'auto',
      resize: state.resize ?? 'auto',
      ...(part === 'attribution' && uploaded && !state.sample ? { file: uploaded } : sample !== undefined ? { sample } : {}),
    };
  };

  /** Why a part cannot run for this model, or undefined when it can. */
  const unavailable = (i: DetectsInfo, part: DetectsPart, method: string): string | undefined => {
    if (i.engine === 'none') return i.why;
    if (part !== 'attribution' && i.layers.length === 0) return 'This model has no layer with a spatial output (height, width, channels), so there are no filters to visualise.';
    if (part === 'attribution' && (method === 'gradcam' || method === 'gradcam++') && i.engine === 'tfjs' && i.layers.length === 0) {
      return `${METHOD_NAMES[method]} needs a layer with a spatial output, and this model has none; choose saliency, SmoothGrad, integrated gradients or occlusion.`;
    }
    return undefined;
  };

  const run = async (model: number, request: DetectsInput, key: string): Promise<void> => {
    running?.abort();
    const mine = new AbortController();
    running = mine;
    const id = ++runs;
    progress.hidden = false;
    progress.value = 0;
    cancel.hidden = false;
    message.className = '';
    message.textContent = 'starting…';
    out.querySelector('.detects-result')?.classList.add('stale');
    out.querySelector('[data-testid=detects-press-run]')?.remove();
    try {
      const view = await backend.detects(
        model,
        request,
        (fraction, text) => {
          if (id !== runs) return;
          progress.value = fraction;
          message.textContent = text;
        },
        mine.signal,
      );
      cache.set(key, view);
      if (id !== runs) return;
      message.textContent = '';
      shownKey = key;
      clear(out, resultOf(view, info?.labels));
    } catch (e) {
      if (id !== runs) return;
      if (e instanceof Cancelled) {
        message.textContent = 'cancelled; press run to start again';
        out.querySelector('.detects-result')?.classList.remove('stale');
        return;
      }
      const text = viewerError(e);
      message.textContent = text;
      message.className = 'error';
    } finally {
      if (id === runs) {
        progress.hidden = true;
        cancel.hidden = true;
        running = undefined;
      }
    }
  };

  const draw = (state: ViewState, i: DetectsInfo): void => {
    const part = (PARTS.some((p) => p.part === state.part) ? state.part : 'maximize') as DetectsPart;
    const layers = i.layers.map((l) => l.name);
    // a link may name an ONNX layer by its PyTorch module path (layer3), as the CLI takes it
    const named = state.layer && (layers.includes(state.layer) ? state.layer : i.layers.find((l) => l.modules?.includes(state.layer!))?.name);
    const layer = named || i.defaultLayer;
    const request = input(state, i, layer, part);
    const count = i.layers.find((l) => l.name === layer)?.filters ?? 0;
    const report = backend.kind === 'report';

    const layerNote = state.layer && !named && layers.length > 0 ? h('span', { class: 'hint', 'data-testid': 'detects-layer-note' }, `${state.layer} has no spatial output; showing ${layer}`) : null;
    const windows: [string, string][] = Array.from({ length: Math.ceil(count / WINDOW) }, (_, w) => [String(w * WINDOW), `${w * WINDOW}-${Math.min(count, (w + 1) * WINDOW) - 1}`]);
    clear(
      controls,
      layers.length > 0 && !report ? select('detects-layer', 'layer', layers.map((l) => [l, l]), layer ?? '', (v) => router.push({ layer: v, filter: undefined })) : layer ? h('span', {}, `layer ${layer}`) : null,
      windows.length > 1 && !report ? select('detects-filters', 'filters', windows, String(request.filters[0]), (v) => router.push({ filter: Number(v) })) : null,
      layer && part !== 'attribution' && !report ? h('span', { class: 'hint' }, `filters ${request.filters[0]}-${request.filters[1]} of ${count}`) : null,
      layerNote,
    );
    clear(
      parts,
      ...PARTS.map((p) =>
        h('button', { type: 'button', class: 'part', 'aria-pressed': String(p.part === part), 'data-part': p.part, title: p.hint, onclick: () => router.push({ part: p.part }) }, p.label),
      ),
    );

    const preprocess = select('detects-preprocess', 'preprocessing', PREPROCESSING, request.preprocess, (v) => router.replace({ preprocess: v === 'auto' ? undefined : v }));
    // How a photograph (attribution's, or a folder data set's) is fitted to the input.
    const resize = select('detects-resize', 'resize', RESIZING, request.resize, (v) => router.replace({ resize: v === 'auto' ? undefined : v }));
    const runButton = h('button', { type: 'button', 'data-testid': 'detects-run', onclick: () => void run(state.model, input(router.current, i, layer, part), keyOf(state.model, input(router.current, i, layer, part))) }, 'run');
    if (report) clear(options);
    else if (part === 'maximize') {
      clear(
        options,
        select('detects-objective', 'objective', [['channel', 'channel: mean over positions'], ['neuron', 'neuron: the centre position']], request.objective, (v) => router.replace({ objective: v === 'channel' ? undefined : v })),
        select('detects-steps', 'steps', stepChoices(request.steps).map((n) => [String(n), String(n)]), String(request.steps), (v) => router.replace({ steps: v === '64' ? undefined : Number(v) })),
        preprocess,
        runButton,
        h('span', { class: 'hint' }, 'each step runs the network forward and back on every image: seconds on a small network, minutes on a MobileNet'),
      );
    } else if (part === 'examples') {
      clear(
        options,
        select('detects-data', 'data set', i.data.map((d, n) => [String(n), d]), String(request.data), (v) => router.replace({ data: v === '0' ? undefined : Number(v) })),
        select('detects-statistic', 'score', [['max', 'max over positions'], ['mean', 'mean over positions']], request.statistic, (v) => router.replace({ statistic: v === 'max' ? undefined : v })),
        preprocess,
        i.data[request.data]?.startsWith('folder:') ? resize : null,
        runButton,
      );
    } else {
      const samples = backend.samples();
      const classes: [string, string][] = [['', 'the top class'], ...Array.from({ length: i.classes }, (_, c): [string, string] => [String(c), i.labels?.[c] ? `${c}: ${i.labels[c]}` : String(c)])];
      const methods = ATTRIBUTION_METHODS.map((m): [string, string] => [m, METHOD_NAMES[m]]);
      clear(
        options,
        samples.length ? select('detects-sample', 'sample photograph', samples.map((s) => [s, s]), request.file ? '' : (request.sample ?? ''), (v) => router.replace({ sample: v })) : null,
        h('label', {}, 'or your own image ', file),
        select('detects-method', 'method', methods, request.method, (v) => router.replace({ method: v })),
        select('detects-class', 'class', classes, request.classIndex === undefined ? '' : String(request.classIndex), (v) => router.replace({ class: v === '' ? undefined : Number(v) })),
        preprocess,
        resize,
        runButton,
      );
    }

    clear(notes, ...(i.notes ?? []).map((n) => h('li', {}, viewerNote(n))));
    const reason = unavailable(i, part, request.method);
    why.textContent = reason ? viewerError(Object.assign(new Error(reason), { concept: i.concept })) : '';
    why.hidden = !reason;
    runButton.disabled = reason !== undefined;
    const key = keyOf(state.model, request);
    const cached = cache.get(key);
    if (reason) {
      clear(out);
      return;
    }
    if (cached) {
      if (shownKey !== key) {
        running?.abort();
        shownKey = key;
        message.textContent = '';
        clear(out, resultOf(cached, i.labels));
      }
      return;
    }
    // Maximize can take minutes on a large network: it starts on request, the other parts at once.
    if (part !== 'maximize' || report) void run(state.model, request, key);
    else {
      shownKey = '';
      clear(out, h('p', { class: 'hint', 'data-testid': 'detects-press-run' }, `press run to optimise images for filters ${request.filters[0]}-${request.filters[1]} of ${layer}`));
    }
  };

  return {
    leave: () => running?.abort(),
    apply: async (state) => {
      if (!info || infoModel !== state.model) {
        infoModel = state.model;
        info = undefined;
        clear(out);
        message.textContent = 'finding what this model can run…';
        info = await backend.detectsInfo(state.model);
        message.textContent = '';
      }
      draw(state, info);
    },
  };
}
