import type { ActivationsView } from '../../activations-view.js';
import type { Backend } from '../backend.js';
import { formatNumber, formatShape } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';

/** The server's presets (src/compute/preprocess.ts); auto is unit. */
const PREPROCESSING: [string, string][] = [
  ['auto', 'auto (x / 255)'],
  ['unit', 'unit: x / 255 (0..1)'],
  ['symmetric', 'symmetric: x / 127.5 - 1 (MobileNet, Inception)'],
  ['raw', 'raw: 0..255'],
  ['caffe', 'caffe: BGR minus ImageNet mean (VGG, ResNet50)'],
];

function result(view: ActivationsView, onLayer: (layer: string) => void): HTMLElement {
  const layerSelect = h('select', { 'data-testid': 'activation-layer', onchange: (e: Event) => onLayer((e.target as HTMLSelectElement).value) });
  for (const l of view.layers) layerSelect.append(h('option', { value: l, selected: l === view.layer }, l));
  return h(
    'div',
    { class: 'activation-result', 'data-testid': 'activation-result' },
    h('div', { class: 'activation-input' }, h('h4', {}, 'input'), h('img', { src: view.input, alt: `network input from ${view.image}`, class: 'pixelated' }), h('p', { class: 'hint' }, view.preprocess)),
    h(
      'div',
      { class: 'activation-maps' },
      h('h4', {}, 'feature maps of ', layerSelect, ` — shape ${formatShape(view.shape)}`),
      h('img', { src: view.maps, alt: `feature maps of ${view.layer}`, 'data-testid': 'feature-maps', class: 'pixelated' }),
    ),
    h(
      'div',
      { class: 'top-outputs' },
      h('h4', {}, 'top outputs'),
      h('table', { 'data-testid': 'top-outputs' }, h('tr', {}, h('th', {}, 'output'), h('th', {}, 'value')), ...view.top.map((t) => h('tr', {}, h('td', {}, t.index), h('td', {}, formatNumber(t.score))))),
    ),
  );
}

/** The activations tab: a sample photograph or an uploaded one, preprocessing, and a layer's feature maps. */
export function activationsTab(root: HTMLElement, backend: Backend, model: number): void {
  const out = h('section', { class: 'activation-out' });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  const message = h('span', { 'data-testid': 'activation-message' });
  const samples = backend.samples();
  const sample = h('select', { 'data-testid': 'sample-select' }, ...samples.map((s) => h('option', { value: s }, s)));
  const file = h('input', { type: 'file', accept: 'image/*', 'data-testid': 'image-upload' });
  const preprocess = h('select', { 'data-testid': 'preprocess' }, ...PREPROCESSING.map(([v, t]) => h('option', { value: v }, t)));
  let layer: string | undefined;
  const run = async (): Promise<void> => {
    progress.hidden = false;
    message.textContent = 'running the network…';
    message.className = '';
    try {
      const chosen = file.files?.[0];
      const view = await backend.activations(
        model,
        { ...(chosen ? { file: chosen } : { sample: sample.value }), ...(layer ? { layer } : {}), preprocess: preprocess.value },
        (fraction, text) => {
          progress.value = fraction;
          message.textContent = text;
        },
      );
      layer = view.layer;
      message.textContent = '';
      clear(out, result(view, (l) => {
        layer = l;
        void run();
      }));
    } catch (e) {
      message.textContent = (e as Error).message;
      message.className = 'error';
      setStatus((e as Error).message, 'error');
    } finally {
      progress.hidden = true;
    }
  };
  file.addEventListener('change', () => void run());
  const canUpload = backend.kind === 'server';
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
}
