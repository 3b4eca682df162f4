/** What `once` needs of a store: a Map or a WeakMap of promises. */
interface PromiseStore<K, V> {
  get(key: K): Promise<V> | undefined;
  set(key: K, value: Promise<V>): unknown;
  delete(key: K): boolean;
}

/**
 * The promise `make()` gives for `key`, made on the first call and kept in `store` for the next ones;
 * forgotten when it rejects, so a later call tries again instead of repeating the failure.
 */
export function once<K, V>(store: PromiseStore<K, V>, key: K, make: () => Promise<V>): Promise<V> {
  let kept = store.get(key);
  if (!kept) {
    kept = make();
    store.set(key, kept);
    kept.catch(() => store.delete(key));
  }
  return kept;
}
