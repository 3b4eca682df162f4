import { getKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Runs existing kernels of one backend directly (no engine, no tape) and frees every intermediate
 * result when done, the way tfjs' own composite kernels do. `keep` marks the one result to return.
 */
export class KernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: object = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`The '${this.backendName}' backend has no '${kernelName}' kernel to build on.`);
    const out = kernel.kernelFunc({ inputs, attrs: attrs as NamedAttrMap, backend: this.backend }) as TensorInfo;
    this.made.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Frees every intermediate except `result`, which is handed to the caller. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.made) if (t !== result) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return result;
  }

  /** Frees everything (on an error path). */
  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` in a fresh scope, returning its kept result and freeing the rest even on error. */
export function withScope(backend: unknown, backendName: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend as KernelBackend, backendName);
  try {
    return scope.finish(body(scope));
  } catch (e) {
    scope.dispose();
    throw e;
  }
}
