import type { ActivationsView } from '../../activations-view.js';
import type { ActivationsInput, Backend } from '../backend.js';
import { formatNumber } from '../../../model/format.js';
import { clear, h, setStatus } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { viewerError } from '../wording.js';
import { RESIZE_MODES, type ResizeMode } from '../../../io/image-fit.js';

/** The server's presets (src/compute/preprocess.ts); auto is the model's own (compute/default-preprocessing.ts), said with the result. */
export const PREPROCESSING: [string, string][] = [
  ['auto', 'auto (from the model file)'],
  ['unit', 'unit: x / 255 (0..1)'],
  ['symmetric', 'symmetric: x / 127.5 - 1 (MobileNet, Inception)'],
  ['raw', 'raw: 0..255'],
  ['caffe', 'caffe: BGR minus ImageNet mean (VGG, ResNet50)'],
  ['torchvision', 'torchvision: x / 255, ImageNet mean and std (PyTorch models)'],
];

const RESIZE_LABELS: Record<ResizeMode, string> = {
  stretch: 'stretch: the whole image, aspect ratio not kept',
  crop: 'crop: shorter side to the input size, centre kept',
  torchvision: "torchvision: shorter side to the input size / 0.875, centre kept (Resize 256, CenterCrop 224)",
  pad: 'pad: the whole image on black',
};

/** The resize modes (src/io/image-fit.ts); auto is the model's own (compute/default-preprocessing.ts), said with the result. */
export const RESIZING: [string, string][] = [['auto', 'auto (from the model file)'], ...RESIZE_MODES.map((m): [string, string] => [m, RESIZE_LABELS[m]])];

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
 * the new one arrives), and a layer's feature maps with the top outputs by class name where known. It
 * runs when it opens, on the first sample photograph; the sample, the layer, the preprocessing and the
 * resize are in the URL (an uploaded image is not: a link cannot carry it).
 */
export function activationsTab(root: HTMLElement, backend: Backend, router: Router): { apply(state: ViewState): Promise<void> } {
  const out = h('section', { class: 'activation-out', 'aria-live': 'polite' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'progress' });
  const message = h('span', { 'data-testid': 'activation-message' });
  const samples = backend.samples();
  const sample = h('select', { 'data-testid': 'sample-select' }, ...samples.map((s) => h('option', { value: s }, s)));
  const file = h('input', { type: 'file', accept: 'image/*', 'data-testid': 'image-upload' });
  const preprocess = h('select', { 'data-testid': 'preprocess' }, ...PREPROCESSING.map(([v, t]) => h('option', { value: v }, t)));
  const resize = h('select', { 'data-testid': 'resize' }, ...RESIZING.map(([v, t]) => h('option', { value: v }, t)));
  /** The image uploaded last, shown while the URL names no sample. */
  let uploaded: File | undefined;
  let model = -1;
  /** The layers with feature maps of `model`, once a run has said them. */
  let menu: string[] | undefined;
  /** Layers a link named otherwise than the menu does (a PyTorch module path, a value name), with the menu entry each showed as. */
  const shownAs = new Map<string, string>();
  /** The choices of the run started last (not awaited: another tab may be chosen while it runs). */
  let requested = '';
  let running = 0;
  const run = async (input: ActivationsInput): Promise<void> => {
    const mine = ++running;
    progress.hidden = false;
    message.textContent = 'running the network…';
    message.className = '';
    out.querySelector('.activation-result')?.classList.add('stale');
    const onProgress = (fraction: number, text: string) => {
      if (mine !== running) return;
      progress.value = fraction;
      message.textContent = text;
    };
    try {
      let view: ActivationsView;
      let note = '';
      try {
        view = await backend.activations(model, input, onProgress);
      } catch (e) {
        // A layer named by the layers tab or a link may have no feature maps (a Dense layer): show the default one, and say so.
        if (input.layer === undefined || menu !== undefined) throw e;
        view = await backend.activations(model, { ...input, layer: undefined }, onProgress);
        note = `Layer '${input.layer}' has no feature maps; showing ${view.layer}.`;
      }
      if (mine !== running) return;
      menu = view.layers;
      if (input.layer !== undefined && !note && view.layer !== input.layer) shownAs.set(input.layer, view.layer);
      message.textContent = note;
      clear(out, result(view, (l) => router.push({ layer: l })));
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
    uploaded = file.files?.[0];
    if (uploaded) router.replace({ sample: undefined });
  });
  sample.addEventListener('change', () => {
    uploaded = undefined;
    file.value = '';
    router.replace({ sample: sample.value });
  });
  preprocess.addEventListener('change', () => router.replace({ preprocess: preprocess.value === 'auto' ? undefined : preprocess.value }));
  resize.addEventListener('change', () => router.replace({ resize: resize.value === 'auto' ? undefined : resize.value }));
  const canUpload = backend.kind !== 'report';
  clear(
    root,
    h(
      'div',
      { class: 'controls' },
      samples.length ? h('label', {}, backend.kind === 'report' ? 'image ' : 'sample photograph ', sample) : null,
      canUpload ? h('label', {}, 'or your own image ', file) : null,
      canUpload ? h('label', {}, 'preprocessing ', preprocess) : null,
      canUpload ? h('label', {}, 'resize ', resize) : null,
    ),
    h('div', { class: 'progress' }, progress, message),
    out,
  );
  return {
    apply: async (state) => {
      if (state.model !== model) {
        model = state.model;
        menu = undefined;
        shownAs.clear();
        requested = '';
        clear(out);
      }
      const chosen = state.sample !== undefined && samples.includes(state.sample) ? state.sample : samples[0];
      if (chosen !== undefined) sample.value = chosen;
      preprocess.value = PREPROCESSING.some(([v]) => v === state.preprocess) ? state.preprocess! : 'auto';
      resize.value = RESIZING.some(([v]) => v === state.resize) ? state.resize! : 'auto';
      const useFile = uploaded !== undefined && state.sample === undefined;
      if (!useFile && chosen === undefined) return;
      const layer = state.layer !== undefined && (menu === undefined || menu.includes(state.layer) || shownAs.has(state.layer)) ? state.layer : undefined;
      const input: ActivationsInput = { ...(useFile ? { file: uploaded } : { sample: chosen }), ...(layer ? { layer } : {}), preprocess: preprocess.value, resize: resize.value };
      const key = JSON.stringify([useFile ? `file:${uploaded!.name}:${uploaded!.size}:${uploaded!.lastModified}` : chosen, layer, input.preprocess, input.resize]);
      if (key === requested) return;
      requested = key;
      void run(input);
    },
  };
}
