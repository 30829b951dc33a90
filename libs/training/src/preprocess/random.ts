/**
 * Deterministic pseudo-random numbers for the split and the augmentation. Never Math.random: the same
 * seed must give the same split and the same augmented batches on every centre and every run.
 */

/** Uniform numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * A seeded generator: the seed (number or string; `42` and `'42'` are the same seed) is hashed to 32 bits
 * (FNV-1a over its decimal/string form, then a murmur3 finaliser) and drives mulberry32, a small generator
 * with a 2^32 period and good equidistribution; plenty for shuffles and augmentation parameters.
 */
export function createRandomSource(seed: number | string): RandomSource {
  checkSeed(seed);
  let state = hashSeed(String(seed));
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from a base seed and some parts (e.g. `deriveSeed(seed, 'augment', epoch)`), as a string. */
export function deriveSeed(seed: number | string, ...parts: ReadonlyArray<number | string>): string {
  checkSeed(seed);
  return [seed, ...parts].map(String).join('/');
}

/** Fisher–Yates, in place; returns `items`. */
export function shuffleInPlace<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

function checkSeed(seed: number | string, field = 'seed'): void {
  if (typeof seed === 'number' && !Number.isFinite(seed)) throw new RangeError(`${field} must be a finite number or a string, got ${seed}`);
  if (typeof seed !== 'number' && typeof seed !== 'string') throw new TypeError(`${field} must be a number or a string, got ${typeof seed}`);
}

function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
