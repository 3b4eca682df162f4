import { formatAxes, formatShape } from '../model/format.js';
import type { Model } from '../model/model.js';

/** One node of a model's layer graph, as the graph view draws and describes it. */
export interface GraphNode {
  name: string;
  className: string;
  /** Layers feeding this one (names of other nodes). */
  inbound: string[];
  /** The layer's stored options, each as `key` and its value in one line (nested values as JSON). */
  attributes: [string, string][];
  /** Its weights: role, shape and axes. */
  weights: string[];
  parents?: string[];
}

export interface ModelGraph {
  nodes: GraphNode[];
  /** Why there is no graph (a file without an architecture), when there is none. */
  missing?: string;
}

/** Attribute values longer than this are cut (a nested model's config would fill the page). */
const VALUE_CHARS = 160;

function attributeText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS - 1)}…` : text;
}

/**
 * The layer graph of a model: every layer with the layers feeding it, its options and its weights.
 * A file that stores no connections (a PyTorch state dict, a weights-only h5) has no graph, and says so.
 */
export function modelGraph(model: Model): ModelGraph {
  const names = new Set(model.layers.map((l) => l.name));
  const nodes: GraphNode[] = model.layers.map((l) => ({
    name: l.name,
    className: l.className,
    inbound: l.inbound.filter((n) => names.has(n) && n !== l.name),
    attributes: Object.entries(l.config)
      .filter(([k]) => k !== 'name')
      .map(([k, v]): [string, string] => [k, attributeText(v)]),
    weights: l.weights.map((w) => `${w.role} ${formatShape(w.shape)} ${formatAxes(w.axes)}`),
    ...(l.parents?.length ? { parents: [...l.parents] } : {}),
  }));
  const connected = nodes.some((n) => n.inbound.length > 0);
  if (!connected && nodes.length > 1) {
    return { nodes, missing: `${model.source.split(/[\\/]/).pop()} stores no connections between its layers (no architecture), so there is no graph to draw; the layers tab lists them.` };
  }
  return { nodes };
}
