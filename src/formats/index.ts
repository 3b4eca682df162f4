import { ModelFormatError } from '../model/errors.js';
import type { Model, Note } from '../model/model.js';
import type { ByteSource } from '../io/source.js';
import type { FormatReader, OpenOptions } from './reader.js';
import { pytorchReader } from './pytorch.js';
import { safetensorsReader } from './safetensors.js';
import { kerasH5Reader } from './keras-h5.js';
import { kerasV3Reader } from './keras-v3.js';
import { tfjsReader } from './tfjs.js';
import { describeJson } from './json-kinds.js';
import { ONNX_NAMES, TF_CHECKPOINT_NAMES, TF_SAVEDMODEL_NAMES } from './reader-names.js';
import { withKerasCallGraph } from './keras-graph.js';

/**
 * A reader whose module is imported on first use: the ONNX and TensorFlow readers bring protobufjs and
 * build their schemas when loaded (~25 ms), which no other file (nor `convscope --help`) should pay.
 */
function lazyReader({ id, description }: Pick<FormatReader, 'id' | 'description'>, load: () => Promise<FormatReader>): FormatReader {
  let reader: Promise<FormatReader> | undefined;
  const loaded = () => (reader ??= load());
  return {
    id,
    description,
    async sniff(probe) {
      return (await loaded()).sniff(probe);
    },
    async open(source, options) {
      return (await loaded()).open(source, options);
    },
  };
}

const tfSavedModelReader = lazyReader(TF_SAVEDMODEL_NAMES, async () => (await import('./tf-savedmodel.js')).tfSavedModelReader);
const tfCheckpointReader = lazyReader(TF_CHECKPOINT_NAMES, async () => (await import('./tf-savedmodel.js')).tfCheckpointReader);
const onnxReader = lazyReader(ONNX_NAMES, async () => (await import('./onnx.js')).onnxReader);

/** Every reader, in the order they are asked to sniff a file. */
export const READERS: readonly FormatReader[] = [
  kerasH5Reader,
  kerasV3Reader,
  tfjsReader,
  pytorchReader,
  safetensorsReader,
  tfSavedModelReader,
  tfCheckpointReader,
  onnxReader,
];

/** JSON files up to this size are parsed to say what they are when no reader claims them. */
const MAX_DESCRIBED_JSON = 64 * 1024 * 1024;

/** What an unclaimed file is, when it is JSON: "a TensorFlow.js weights manifest (...)". */
async function describeUnclaimedJson(source: ByteSource, head: Uint8Array): Promise<Note | undefined> {
  const first = new TextDecoder().decode(head.subarray(0, 64)).trimStart()[0];
  if (first !== '{' && first !== '[' && first !== '"') return undefined;
  if (source.size > MAX_DESCRIBED_JSON) return undefined;
  try {
    return describeJson(JSON.parse(new TextDecoder().decode(await source.read(0, source.size))));
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

function describeHead(head: Uint8Array): string {
  const shown = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return head.length === 0 ? 'it is empty' : `it starts with bytes ${shown}`;
}

/**
 * A reader's open(), where a structure nested deep enough to overflow the stack (in a reader or in a
 * library it calls) becomes a sentence instead of a RangeError.
 */
async function openWith(reader: FormatReader, source: ByteSource, options: OpenOptions): Promise<Model> {
  try {
    return await reader.open(source, options);
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ModelFormatError(`${source.name} is nested too deeply to read as ${reader.description} (reading it overflowed the stack).`);
    }
    throw e;
  }
}

/** Opens a model from any byte source, choosing the reader by content. */
export async function openSource(source: ByteSource, options: OpenOptions = {}): Promise<Model> {
  const head = await source.read(0, Math.min(4096, source.size));
  for (const reader of READERS) {
    if (await reader.sniff({ source, head })) return withKerasCallGraph(await openWith(reader, source, options));
  }
  const json = await describeUnclaimedJson(source, head);
  if (json) throw new ModelFormatError(`${source.name} is ${json.text}.`, json.concept ? { concept: json.concept } : {});
  throw new ModelFormatError(
    `${source.name} is not a model file convscope can read (${describeHead(head)}). Supported: ${READERS.map((r) => r.description).join('; ')}.`,
  );
}
