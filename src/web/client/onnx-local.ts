import { sampleView } from '../../compute/layer-output.js';
import { featureMapLayers, menuName, runOnnxLayers, selectOnnxLayers } from '../../compute/onnx-activations.js';
import { openOnnxNet } from '../../compute/ort.js';
import { useOrtWeb } from '../../compute/ort-web.js';
import { chooseResize, defaultPreprocessing, describePreprocessing, describeResize } from '../../compute/default-preprocessing.js';
import { placement, type Placement, type ResizeMode } from '../../io/image-fit.js';
import { PRESETS, type Preset } from '../../compute/choices.js';
import { imagesToBatch } from '../../compute/preprocess.js';
import { onnxGraph } from '../../formats/onnx-graph.js';
import { InputError, UsageError } from '../../model/errors.js';
import { labelsInMetadata } from '../../model/labels.js';
import type { Model } from '../../model/model.js';
import { topValues } from '../../render/bars.js';
import { featureMapFigure } from '../../render/feature-maps.js';
import { encodeRaster, sceneToPng } from '../../render/scene-png.js';
import type { ActivationsView } from '../activations-view.js';
import type { ActivationsInput, OnProgress } from './backend.js';

/**
 * Feature maps of an ONNX model dropped on the page, computed in the page on onnxruntime-web: the
 * model's bytes and the image never leave the browser.
 */

export function isOnnx(model: Model): boolean {
  return onnxGraph(model)?.bytes !== undefined;
}

function dataUri(png: Uint8Array): string {
  let text = '';
  for (let i = 0; i < png.length; i += 0x8000) text += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(text)}`;
}

/** The image as RGB bytes at the network's input size, placed as `mode` says (io/image-fit.ts owns the geometry; the browser's resampler draws it). */
async function pixels(input: ActivationsInput, width: number, height: number, mode: ResizeMode): Promise<{ name: string; data: Uint8Array; at: Placement }> {
  const blob = input.file ?? (input.sample ? await (await fetch(`samples/${encodeURIComponent(input.sample)}`)).blob() : undefined);
  if (!blob) throw new UsageError('Choose an image to run the network on.');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new InputError(`${input.file?.name ?? input.sample} is not an image this browser can decode.`);
  }
  const at = placement(mode, { width: bitmap.width, height: bitmap.height }, { width, height });
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, at.left, at.top, at.width, at.height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = rgba[p * 4 + c]!;
  return { name: input.file?.name ?? input.sample!, data, at };
}

export async function onnxActivations(model: Model, input: ActivationsInput, progress: OnProgress): Promise<ActivationsView> {
  const graph = onnxGraph(model)!;
  progress(0.05, 'loading ONNX Runtime');
  await useOrtWeb(new URL('ort/', document.baseURI).href);
  progress(0.2, 'preparing the network');
  const net = await openOnnxNet(await graph.bytes!(), graph, model.source, { threads: 1 });
  try {
    const shape = net.inputShapes[0] ?? [];
    const [channels, height, width] = [shape[1], shape[2], shape[3]];
    if (graph.inputs.length !== 1 || shape.length !== 4 || channels !== 3 || !height || !width) {
      throw new InputError(`${model.source} does not take one RGB image of fixed size (its input is ${JSON.stringify(shape)}), so the page cannot feed it a picture.`);
    }
    const resize = chooseResize(model, input.resize);
    const image = await pixels(input, width, height, resize.mode);
    const preprocessing = (PRESETS as readonly string[]).includes(input.preprocess) ? { preset: input.preprocess as Preset } : defaultPreprocessing(model);
    const batch = imagesToBatch([{ width, height, channels: 3, data: image.data }], { preset: preprocessing.preset, channelsFirst: true });
    const [layer] = selectOnnxLayers(graph, model.source, input.layer);
    progress(0.4, `running ${model.source} on ONNX Runtime (wasm)`);
    const run = await runOnnxLayers(net, batch, [layer!]);
    const out = run.layers[0];
    const view = out ? sampleView(out, 0, true) : undefined;
    if (!out || view?.kind !== 'maps') throw new InputError(`The output of '${layer!.name}' has shape (${out?.shape.join(', ') ?? '?'}), which is not feature maps.`);
    const figure = featureMapFigure(view, { title: `${out.name} (${out.className}) output ${JSON.stringify(out.shape.slice(1))} for ${image.name}` });
    const labels = labelsInMetadata(model.metadata);
    const logits = run.outputs[0]?.data ?? new Float32Array(0);
    return {
      image: image.name,
      preprocess: `${describeResize(resize, { at: image.at, target: { width, height } })}; ${describePreprocessing(preprocessing)}`,
      input: dataUri(encodeRaster({ width, height, data: image.data }, 'network input')),
      layer: menuName(graph, layer!),
      layers: featureMapLayers(graph).map((l) => l.name),
      shape: out.shape.slice(1),
      maps: dataUri(sceneToPng(figure.scene)),
      top: topValues(logits, 5).map((t) => ({ index: t.index, score: t.value, ...(labels?.[t.index] ? { label: labels[t.index] } : {}) })),
    };
  } finally {
    await net.release();
  }
}
