/**
 * The runtime call graph of a network: which layer is called on which tensors, in execution order.
 * Readers build it once from the stored architecture (formats/keras-graph.ts for Keras and TF.js
 * JSON); engines (compute/) run it and never look at the stored JSON.
 *
 * Nested models (a MobileNet inside a Sequential) are dissolved into their leaf layers, so every
 * layer's activation can be taken; a shared layer called twice is two nodes.
 */

/** Output `output` of graph node `node`. */
export interface TensorRef {
  readonly node: number;
  readonly output: number;
}

/** A leaf layer: its class and config as stored (snake_case; Keras 1, 2 or 3 spelling). */
export interface LeafLayer {
  readonly name: string;
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Enclosing nested models, outermost first. */
  readonly parents: readonly string[];
}

/** One call of a leaf layer. Nodes are in execution (topological) order; `id` is the index. */
export interface GraphNode {
  readonly id: number;
  readonly layer: LeafLayer;
  /** 0 for a layer's first call, 1 for its second (shared layers), ... */
  readonly call: number;
  readonly inputs: readonly TensorRef[];
}

export interface LayerGraph {
  readonly name: string;
  readonly layers: readonly LeafLayer[];
  readonly nodes: readonly GraphNode[];
  /** Nodes of the model's InputLayers, in input order. */
  readonly inputs: readonly number[];
  /** The shape each input declares, with the batch axis (null where free); [] where it declares none. */
  readonly inputShapes: readonly (readonly (number | null)[])[];
  readonly outputs: readonly TensorRef[];
  /** The Keras backend that wrote the weights, where the architecture records it (`theano` kernels are flipped). */
  readonly backend?: string;
}
