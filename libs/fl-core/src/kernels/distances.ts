import { Layout, MAX_KERNEL_MEMORY, scratchInstance } from './runtime';

/**
 * Squared L2 distances from one model to several others on the kernels, for Krum's pairwise distances. The
 * models are cut into blocks; for a block, the new model's values and each other model's are copied into
 * cache-resident rows and `squaredDistances` adds Σ (x − y)² into eight float64 partial sums per pair (one per
 * coordinate mod 8), summed at the end. Differences and squares are the reference's float64 operations; only
 * the order of the additions differs (eight interleaved sums instead of one), so a distance can differ from the
 * reference in its last bits.
 */

const BLOCK = 2048;

function layoutFor(others: number) {
  const layout = new Layout();
  const x = layout.take(BLOCK * 4);
  const rows = layout.take(others * BLOCK * 4);
  const sums = layout.take(others * 64);
  return { x, rows, sums, size: layout.size };
}

/** Whether `others` rows fit one kernel memory (thousands of centres do). */
export function distancesFit(others: number): boolean {
  return layoutFor(others).size < MAX_KERNEL_MEMORY;
}

/** Σ over tensors of ‖x − y‖² for each y in `others` (all with x's tensor lengths). */
export function squaredDistancesSimd(x: readonly Float32Array[], others: readonly (readonly Float32Array[])[]): number[] {
  const count = others.length;
  if (count === 0) return [];
  const at = layoutFor(count);
  const { f32, f64, kernels } = scratchInstance(at.size);
  f64.fill(0, at.sums / 8, at.sums / 8 + 8 * count);
  const stride = BLOCK * 4;
  x.forEach((tensor, t) => {
    for (let o = 0; o < tensor.length; o += BLOCK) {
      const m = Math.min(BLOCK, tensor.length - o);
      const padded = Math.ceil(m / 8) * 8; // the kernel takes 8 coordinates at a time
      // the lanes past the end are zero in x and in every row: they add (0 − 0)²
      f32.set(tensor.subarray(o, o + m), at.x / 4);
      f32.fill(0, at.x / 4 + m, at.x / 4 + padded);
      for (let r = 0; r < count; r++) {
        const row = (at.rows + r * stride) / 4;
        f32.set(others[r][t].subarray(o, o + m), row);
        f32.fill(0, row + m, row + padded);
      }
      kernels.squaredDistances(at.x, at.rows, count, stride, padded / 4, at.sums);
    }
  });
  return Array.from({ length: count }, (_, r) => {
    const s = at.sums / 8 + 8 * r;
    let sum = 0;
    for (let p = 0; p < 8; p++) sum += f64[s + p];
    return sum;
  });
}
