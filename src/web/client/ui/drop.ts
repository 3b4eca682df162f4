import { openSource } from '../../../formats/index.js';
import { ModelFormatError } from '../../../model/errors.js';
import type { Model } from '../../../model/model.js';
import { bytesSource, type ByteSource } from '../../../io/source.js';
import { clear, h, setStatus } from '../dom.js';
import { viewerError } from '../wording.js';

/** Byte sources over dropped files; a TF.js model.json finds its weight shards among them by name. */
async function sources(files: readonly File[]): Promise<Map<string, ByteSource>> {
  const byName = new Map<string, ByteSource>();
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    byName.set(
      f.name,
      bytesSource(f.name, bytes, async (rel) => {
        const hit = byName.get(rel.split('/').pop()!);
        if (!hit) throw new ModelFormatError(`${f.name} refers to '${rel}': drop it together with ${f.name}.`);
        return hit;
      }),
    );
  }
  return byName;
}

/** A TF.js model.json (its topology and weight manifest), not an architecture JSON from model.to_json(). */
async function isTfjsJson(f: File): Promise<boolean> {
  if (!f.name.endsWith('.json') || f.size > 64 * 1024 * 1024) return false;
  const head = await f.slice(0, 4096).text();
  return /"(weightsManifest|modelTopology)"/.test(head);
}

/**
 * Which dropped file is the model: a TF.js model.json over its shards; otherwise saved_model.pb over its
 * variables, a checkpoint's .index over its data shards, or the first file that is not JSON, with a dropped JSON file as its architecture (model.to_json() for a weights-only file).
 */
async function roles(files: readonly File[]): Promise<{ main: File; config?: File }> {
  for (const f of files) if (await isTfjsJson(f)) return { main: f };
  const main =
    files.find((f) => f.name === 'saved_model.pb') ??
    files.find((f) => f.name.endsWith('.index')) ??
    files.find((f) => !f.name.endsWith('.json')) ??
    files[0]!;
  const config = files.find((f) => f !== main && f.name.endsWith('.json'));
  return config ? { main, config } : { main };
}

/** Reads the chosen or dropped files in the page as one model, saying so in the status line; errors in the page's words. */
async function openFiles(files: File[], onModel: (model: Model) => void): Promise<void> {
  if (files.length === 0) return;
  setStatus(`reading ${files.map((f) => f.name).join(', ')}…`, 'busy');
  try {
    const byName = await sources(files);
    const { main, config } = await roles(files);
    const model = await openSource(byName.get(main.name)!, config ? { config: byName.get(config.name)! } : {});
    setStatus('');
    onModel(model);
  } catch (e) {
    setStatus(viewerError(e), 'error');
  }
}

/**
 * With no model on the command line: the page asks for a file and reads it HERE with the library's
 * readers (nothing is uploaded).
 */
export function dropZone(root: HTMLElement, onModel: (model: Model) => void): void {
  const input = h('input', { type: 'file', multiple: true, 'data-testid': 'model-file', 'aria-label': 'model files' });
  const zone = h(
    'div',
    { class: 'dropzone', 'data-testid': 'dropzone' },
    h('p', {}, 'Drop a model file here (.h5, .keras, model.json with its .bin shards, .pt, .safetensors, .onnx; a weights-only .h5 together with its model.to_json() file)'),
    h('p', { class: 'hint' }, 'It is read in this browser tab; nothing is uploaded.'),
    input,
  );
  const open = (files: File[]): Promise<void> => openFiles(files, onModel);
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    void open(Array.from(e.dataTransfer?.files ?? []));
  });
  input.addEventListener('change', () => void open(Array.from(input.files ?? [])));
  clear(root, zone);
}

/** A header control that reads another model file in the page, without reloading it. */
export function openAnother(onModel: (model: Model) => void): HTMLElement {
  const input = h('input', { type: 'file', multiple: true, 'data-testid': 'open-another', class: 'visually-hidden', id: 'open-another' });
  input.addEventListener('change', async () => {
    await openFiles(Array.from(input.files ?? []), onModel);
    input.value = '';
  });
  return h('span', { class: 'open-another' }, input, h('label', { for: 'open-another', class: 'button-like', tabindex: 0, onkeydown: (e: Event) => {
    if ((e as KeyboardEvent).key === 'Enter' || (e as KeyboardEvent).key === ' ') {
      e.preventDefault();
      input.click();
    }
  } }, 'open another model…'));
}
