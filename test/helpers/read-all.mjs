// Child process for tests that measure from outside (peak RSS, time, the files it opens): opens each
// model named on the command line with the compiled library, reads every weight, and prints one JSON
// line per model: { ok } or { error: name, message }.
import { openModel } from '../../dist/index.js';

for (const path of process.argv.slice(2)) {
  try {
    const model = await openModel(path);
    try {
      for (const layer of model.layers) for (const weight of layer.weights) await weight.read();
    } finally {
      model.close();
    }
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ error: e?.name ?? typeof e, message: String(e?.message ?? e) }));
  }
}
