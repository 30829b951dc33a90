import { KernelInstance, Layout, MAX_KERNEL_MEMORY } from './runtime';

/**
 * Squared L2 distances from one model to several others on the kernels, for Krum's pairwise distances. The
 * models are cut into blocks; for a block, the new model's values and each other model's are copied into
 * cache-resident rows and `squaredDistances` adds Σ (x − y)² into four float64 partial sums per pair (one per
 * coordinate mod 4), summed at the end. Differences and squares are the reference's float64 operations; only
 * the order of the additions differs (four interleaved sums instead of one), so a distance can differ from the
 * reference in its last bits.
 */

const BLOCK = 2048;

export class SimdDistances {
  private instance: KernelInstance | undefined;
  private capacity = 0; // rows the current instance has room for
  private x = 0;
  private rows = 0;
  private sums = 0;

  /** Whether `others` rows fit one kernel memory (thousands of centres do). */
  static fits(others: number): boolean {
    return (others + 1) * (BLOCK * 4 + 32) + 65536 < MAX_KERNEL_MEMORY;
  }

  private reserve(others: number): KernelInstance {
    if (this.instance && others <= this.capacity) return this.instance;
    const capacity = Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, others))));
    const layout = new Layout();
    this.x = layout.take(BLOCK * 4);
    this.rows = layout.take(capacity * BLOCK * 4);
    this.sums = layout.take(capacity * 32);
    this.instance = new KernelInstance(layout.size);
    this.capacity = capacity;
    return this.instance;
  }

  /** Σ over tensors of ‖x − y‖² for each y in `others` (all with x's tensor lengths). */
  distances(x: readonly Float32Array[], others: readonly (readonly Float32Array[])[]): number[] {
    const count = others.length;
    if (count === 0) return [];
    const { f32, f64, kernels } = this.reserve(count);
    f64.fill(0, this.sums / 8, this.sums / 8 + 4 * count);
    const stride = BLOCK * 4;
    x.forEach((tensor, t) => {
      for (let o = 0; o < tensor.length; o += BLOCK) {
        const m = Math.min(BLOCK, tensor.length - o);
        const padded = Math.ceil(m / 4) * 4;
        f32.set(tensor.subarray(o, o + m), this.x / 4);
        f32.fill(0, this.x / 4 + m, this.x / 4 + padded);
        for (let r = 0; r < count; r++) {
          const at = (this.rows + r * stride) / 4;
          f32.set(others[r][t].subarray(o, o + m), at);
          f32.fill(0, at + m, at + padded);
        }
        kernels.squaredDistances(this.x, this.rows, count, stride, padded / 4, this.sums);
      }
    });
    return Array.from({ length: count }, (_, r) => {
      const s = this.sums / 8 + 4 * r;
      return f64[s] + f64[s + 1] + f64[s + 2] + f64[s + 3];
    });
  }
}
