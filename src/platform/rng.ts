/** Seeded PRNG (mulberry32): tuning, subsampling and shuffles must be reproducible from a run's seed. */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** In-place Fisher-Yates. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

/** A 31-bit integer seed derived from a base seed and a salt, for libraries that want integers. */
export function deriveSeed(seed: number, salt: number): number {
  const r = createRng((seed * 2654435761 + salt * 40503) >>> 0);
  return Math.floor(r() * 0x7fffffff);
}
