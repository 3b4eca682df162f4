// Child process for tests that measure the HDF5 library's path (h5wasm in its thread) from outside:
// opens one HDF5 file with it alone, reads every attribute as text and every dataset, and prints one
// JSON line: { ok } or { error: name, message }.
import { openHdf5Library } from '../../dist/io/hdf5.js';
import { fileSource } from '../../dist/io/node-source.js';

async function readAll(file, path) {
  for (const attr of file.attrNames(path)) file.stringAttr(path, attr);
  for (const key of file.keys(path)) {
    const member = path ? `${path}/${key}` : key;
    if (file.kind(member) === 'group') await readAll(file, member);
    else await file.read(file.dataset(member, 'a dataset'));
  }
}

try {
  const file = await openHdf5Library(await fileSource(process.argv[2]));
  try {
    await readAll(file, '');
  } finally {
    file.close();
  }
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ error: e?.name ?? typeof e, message: String(e?.message ?? e) }));
}
