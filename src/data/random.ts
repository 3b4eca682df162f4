import seedrandom from 'seedrandom';

/** A random permutation of 0..n-1 (Fisher-Yates), the same for the same seed. */
export function permutation(n: number, seed: number | string): Uint32Array {
  const random = seedrandom(String(seed));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A seeded source of uniform numbers in [0, 1) (Alea: fast enough for a dropout mask per step), the same for the same seed. */
export function randomSource(seed: number | string): () => number {
  return seedrandom.alea(String(seed));
}
