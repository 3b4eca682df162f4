import { openSource } from '../../../formats/index.js';
import { ModelFormatError } from '../../../model/errors.js';
import type { Model } from '../../../model/model.js';
import { bytesSource, type ByteSource } from '../../../io/source.js';
import { clear, h, setStatus } from '../dom.js';

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

/** Which dropped file is the model: model.json over its shards, otherwise the first file. */
function mainFile(files: readonly File[]): File {
  return files.find((f) => f.name.endsWith('.json')) ?? files[0]!;
}

/**
 * With no model on the command line: the page asks for a file and reads it HERE with the library's
 * readers (nothing is uploaded).
 */
export function dropZone(root: HTMLElement, onModel: (model: Model) => void): void {
  const input = h('input', { type: 'file', multiple: true, 'data-testid': 'model-file' });
  const zone = h(
    'div',
    { class: 'dropzone', 'data-testid': 'dropzone' },
    h('p', {}, 'Drop a model file here (.h5, .keras, model.json with its .bin shards, .pt, .safetensors, .onnx)'),
    h('p', { class: 'hint' }, 'It is read in this browser tab; nothing is uploaded.'),
    input,
  );
  const open = async (files: File[]): Promise<void> => {
    if (files.length === 0) return;
    setStatus(`reading ${files.map((f) => f.name).join(', ')}…`, 'busy');
    try {
      const byName = await sources(files);
      const model = await openSource(byName.get(mainFile(files).name)!);
      setStatus('');
      onModel(model);
    } catch (e) {
      setStatus((e as Error).message, 'error');
    }
  };
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
