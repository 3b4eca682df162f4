/** What the activations view shows for one image and one layer: plain JSON, sent by the server or embedded in a report. */
export interface ActivationsView {
  /** The image's name (a sample's file name, or "the uploaded image"). */
  image: string;
  /** How the image was turned into the network's input, in words. */
  preprocess: string;
  /** The network input as fed (after resizing), as a PNG data: URI. */
  input: string;
  /** The layer whose output is shown. */
  layer: string;
  /** Layers whose outputs are feature maps (the choices of the layer menu). */
  layers: string[];
  /** The layer output's shape without the batch axis. */
  shape: number[];
  /** The feature maps of `layer` as one grid PNG, a data: URI. */
  maps: string;
  /** The model's outputs, largest first (index into the last layer's units, its value, and its class name where the model names its classes). */
  top: { index: number; score: number; label?: string }[];
}
