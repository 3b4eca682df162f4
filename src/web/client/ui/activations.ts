import type { ActivationsView } from '../../activations-view.js';
import type { Backend } from '../backend.js';
import { formatNumber } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { viewerError } from '../wording.js';

/** The server's presets (src/compute/preprocess.ts); auto is the model's own (compute/default-preprocessing.ts), said with the result. */
export const PREPROCESSING: [string, string][] = [
  ['auto', 'auto (from the model file)'],
  ['unit', 'unit: x / 255 (0..1)'],
  ['symmetric', 'symmetric: x / 127.5 - 1 (MobileNet, Inception)'],
  ['raw', 'raw: 0..255'],
  ['caffe', 'caffe: BGR minus ImageNet mean (VGG, ResNet50)'],
  ['torchvision', 'torchvision: x / 255, ImageNet mean and std (PyTorch models)'],
];

function result(view: ActivationsView, onLayer: (layer: string) => void): HTMLElement {
  const layerSelect = h('select', { 'data-testid': 'activation-layer', 'aria-label': 'layer whose feature maps are shown', onchange: (e: Event) => onLayer((e.target as HTMLSelectElement).value) });
  for (const l of view.layers) layerSelect.append(h('option', { value: l, selected: l === view.layer }, l));
  const named = view.top.some((t) => t.label !== undefined);
  const maps = h('img', { src: view.maps, alt: `feature maps of ${view.layer}`, 'data-testid': 'feature-maps', class: 'pixelated fit' });
  maps.addEventListener('click', () => maps.classList.toggle('fit'));
  return h(
    'div',
    { class: 'activation-result', 'data-testid': 'activation-result' },
    h('div', { class: 'activation-input' }, h('h4', {}, 'input'), h('img', { src: view.input, alt: `network input from ${view.image}`, class: 'pixelated', 'data-testid': 'activation-input' }), h('p', { class: 'hint', 'data-testid': 'activation-source' }, `${view.image}; ${view.preprocess}`)),
    h(
      'div',
      { class: 'activation-maps' },
      h('h4', {}, 'feature maps of ', layerSelect, ` — shape (${view.shape.join(', ')})`),
      h('div', { class: 'picture-box' }, maps),
      h('p', { class: 'hint' }, 'click the picture for its full size'),
    ),
    h(
      'div',
      { class: 'top-outputs' },
      h('h4', {}, 'top outputs'),
      h(
        'table',
        { 'data-testid': 'top-outputs' },
        h('tr', {}, h('th', { scope: 'col' }, 'output'), named ? h('th', { scope: 'col' }, 'class') : null, h('th', { scope: 'col' }, 'value')),
        ...view.top.map((t) => h('tr', {}, h('td', {}, t.index), named ? h('td', {}, t.label ?? '') : null, h('td', {}, formatNumber(t.score)))),
      ),
    ),
  );
}

/**
 * The activations tab: a sample photograph or an uploaded one (whichever was chosen last is the one
 * shown), preprocessing (a change re-runs the network and the old result is marked out of date until
 * the new one arrives), and a layer's feature maps with the top outputs by class name where known.
 */
export function activationsTab(root: HTMLElement, backend: Backend, router: Router): { apply(state: ViewState): Promise<void> } {
  const out = h('section', { class: 'activation-out', 'aria-live': 'polite' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'progress' });
  const message = h('span', { 'data-testid': 'activation-message' });
  const samples = backend.samples();
  const sample = h('select', { 'data-testid': 'sample-select' }, ...samples.map((s) => h('option', { value: s }, s)));
  const file = h('input', { type: 'file', accept: 'image/*', 'data-testid': 'image-upload' });
  const preprocess = h('select', { 'data-testid': 'preprocess' }, ...PREPROCESSING.map(([v, t]) => h('option', { value: v }, t)));
  let layer: string | undefined;
  let model = router.current.model;
  /** The image the user chose last: a sample, or the uploaded file. */
  let source: 'sample' | 'file' = 'sample';
  let running = 0;
  const run = async (): Promise<void> => {
    const mine = ++running;
    progress.hidden = false;
    message.textContent = 'running the network…';
    message.className = '';
    out.querySelector('.activation-result')?.classList.add('stale');
    try {
      const chosen = source === 'file' ? file.files?.[0] : undefined;
      const view = await backend.activations(
        model,
        { ...(chosen ? { file: chosen } : { sample: sample.value }), ...(layer ? { layer } : {}), preprocess: preprocess.value },
        (fraction, text) => {
          if (mine !== running) return;
          progress.value = fraction;
          message.textContent = text;
        },
      );
      if (mine !== running) return;
      layer = view.layer;
      message.textContent = '';
      clear(out, result(view, (l) => {
        layer = l;
        void run();
      }));
    } catch (e) {
      if (mine !== running) return;
      const text = viewerError(e);
      message.textContent = text;
      message.className = 'error';
      setStatus(text, 'error');
    } finally {
      if (mine === running) progress.hidden = true;
    }
  };
  file.addEventListener('change', () => {
    if (!file.files?.[0]) return;
    source = 'file';
    void run();
  });
  sample.addEventListener('change', () => {
    source = 'sample';
    file.value = '';
    void run();
  });
  preprocess.addEventListener('change', () => void run());
  const canUpload = backend.kind !== 'report';
  clear(
    root,
    h(
      'div',
      { class: 'controls' },
      samples.length ? h('label', {}, backend.kind === 'report' ? 'image ' : 'sample photograph ', sample) : null,
      canUpload ? h('label', {}, 'or your own image ', file) : null,
      canUpload ? h('label', {}, 'preprocessing ', preprocess) : null,
      h('button', { type: 'button', 'data-testid': 'run-activations', onclick: () => void run() }, 'show feature maps'),
    ),
    h('div', { class: 'progress' }, progress, message),
    out,
  );
  return {
    apply: async (state) => {
      if (state.model !== model) {
        model = state.model;
        layer = undefined;
        clear(out);
      }
      // A report's feature maps are computed already: the tab opens showing them, not blank.
      if (backend.kind === 'report' && samples.length > 0 && out.childElementCount === 0) void run();
    },
  };
}
