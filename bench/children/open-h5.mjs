// Library in-process: import + open + list every weight + read one kernel, timed inside this process.
// argv: <dist dir> <file.h5> <layer>
const t0 = performance.now();
const [dist, file, layer] = process.argv.slice(2);
const { openModel } = await import(`${dist}/formats/open.js`);
const { findLayer, findWeight } = await import(`${dist}/model/lookup.js`);
const model = await openModel(file);
const listed = model.layers.flatMap((l) => l.weights.map((w) => `${l.name} ${w.name} ${w.shape.join('x')} ${w.dtype}`));
const t1 = performance.now();
const kernel = await findWeight(findLayer(model, layer), 'kernel').read();
const t2 = performance.now();
model.close();
let sum = 0;
for (const v of kernel.data) sum += v;
console.log(JSON.stringify({ ms: t2 - t0, parts: { 'open+list': t1 - t0, kernel: t2 - t1 }, check: `${listed.length} weights, kernel ${kernel.shape.join('x')} sum ${sum.toFixed(3)}` }));
