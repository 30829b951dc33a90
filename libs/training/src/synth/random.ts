import { createHash } from 'node:crypto';

/**
 * A seeded PRNG (sfc32, 128-bit state) whose streams are derived by hashing a path of names, e.g.
 * `Rng.derive(seed, 'cmmd', 'p0007', 'L')`: every image gets its own stream, so output does not depend on the
 * order in which things are generated. No Math.random anywhere.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(words: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = words;
    for (let i = 0; i < 12; i++) this.next();
  }

  static derive(...path: (string | number)[]): Rng {
    const h = createHash('sha256').update(path.map(String).join('\u0000')).digest();
    return new Rng([h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]);
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Approximately standard normal and cheap, for noise fields: the sum of three 10-bit uniforms from one draw
   * (Irwin–Hall), rescaled to unit variance, bounded at ±3.
   */
  noise(): number {
    const x = this.next();
    return (((x & 1023) + ((x >>> 10) & 1023) + ((x >>> 20) & 1023) + 1.5) / 1024 - 1.5) * 2;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** A DICOM UID under the UUID-derived root 2.25 (PS3.5 B.2), from a hash of the path: deterministic, ≤ 64 chars. */
export function uidFrom(...path: (string | number)[]): string {
  const h = createHash('sha256').update(path.map(String).join('\u0000')).digest();
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString()}`;
}
