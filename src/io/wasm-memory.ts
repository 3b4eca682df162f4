import { readFileSync } from 'node:fs';

/**
 * WebAssembly engines (h5wasm) under an address-space limit (`ulimit -v`, common in containers). V8
 * reserves about 10 GiB of address space per WebAssembly memory so that bounds checks are done by
 * guard pages; under a lower limit the reservation fails and the engine cannot start. Node's
 * `--disable-wasm-trap-handler` makes V8 check bounds explicitly instead, which needs only the memory
 * actually used: the CLI restarts itself with it when the limit is low.
 */
export const WASM_GUARD_ADDRESS_SPACE = 16 * 2 ** 30;
export const BOUNDS_CHECK_FLAG = '--disable-wasm-trap-handler';

/** The process's address-space limit in bytes (Linux), or undefined when unlimited or unknown. */
export function addressSpaceLimit(): number | undefined {
  try {
    const m = /^Max address space\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether WebAssembly needs explicit bounds checks here and this process runs without them. */
export function needsBoundsCheckFlag(): boolean {
  const limit = addressSpaceLimit();
  return limit !== undefined && limit < WASM_GUARD_ADDRESS_SPACE && !process.execArgv.includes(BOUNDS_CHECK_FLAG);
}

/** A sentence saying why a WebAssembly engine could not start under the address-space limit, if that is why. */
export function addressSpaceAdvice(): string | undefined {
  if (!needsBoundsCheckFlag()) return undefined;
  const gib = (addressSpaceLimit()! / 2 ** 30).toFixed(1);
  return `the address space is limited to ${gib} GiB (ulimit -v), and WebAssembly needs ${WASM_GUARD_ADDRESS_SPACE / 2 ** 30} GiB of it unless node runs with ${BOUNDS_CHECK_FLAG}; raise the limit or run node with that flag`;
}
