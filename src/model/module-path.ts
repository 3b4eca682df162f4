/**
 * The PyTorch module a node of an exported ONNX graph belongs to, recovered from the scope that
 * torch.onnx.export writes into node names: `/layer1/layer1.0/conv1/Conv` is op `Conv` inside the
 * scopes `layer1` > `layer1.0` > `conv1`, i.e. module `layer1.0.conv1`. A scope names its module
 * relative to an ancestor, repeating the last components of the path so far (`layer1.0` under
 * `layer1`, `downsample.0` under `layer4.0.downsample`, `conv.1.0` under `features.17.conv.1`):
 * the longest such overlap is taken once.
 * A module called k > 0 times more gets its k-th later call's scope suffixed `_k` (`relu_1`).
 */

/** The dotted module path of a node name, or undefined when the name carries no scope. */
export function modulePath(nodeName: string): string | undefined {
  if (!nodeName.startsWith('/')) return undefined;
  const scopes = nodeName.slice(1).split('/').slice(0, -1);
  const path: string[] = [];
  for (const scope of scopes) {
    if (scope === '') continue;
    const parts = scope.split('.');
    let overlap = Math.min(parts.length - 1, path.length);
    while (overlap > 0 && !parts.slice(0, overlap).every((p, i) => p === path[path.length - overlap + i])) overlap--;
    path.push(...parts.slice(overlap));
  }
  return path.length === 0 ? undefined : path.join('.');
}

/** Whether `path` is `module` or lies inside it. */
export function withinModule(path: string | undefined, module: string): boolean {
  return path !== undefined && (path === module || path.startsWith(`${module}.`));
}
