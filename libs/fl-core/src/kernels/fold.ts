import { FOLD_MAX, FOLD_TABLE_WEIGHTS, type FoldEnd } from './abi';
import { acquireInstance, releaseInstance, type KernelInstance, Layout, MAX_KERNEL_MEMORY, padTo4 } from './runtime';

/**
 * FedAvg's running sum on the WebAssembly kernels: Σ nᵢ·wᵢ in float64, the same operations in the same order
 * as the JavaScript reference (0 + w₀·n₀ + w₁·n₁ + …, updates in arrival order), so the same bits.
 *
 * Memory traffic is what limits a fold (the arithmetic is a multiply and an add per coordinate), and a float64
 * sum read and written per update costs 16 bytes per coordinate against 4 of input. So updates are batched:
 * the first BATCH − 1 updates of a batch are copied into slots inside the kernel memory (their buffers are not
 * kept: the caller may reuse them as soon as `add` returns), and the BATCH-th is folded together with them in
 * one pass, chunk by chunk through a small staging area, reading and writing the sum once for BATCH updates.
 * The first pass starts from zero (nothing to read), and the last one — at `mean*`, over the updates still in
 * slots — divides by Σ nᵢ and rounds to float32 on the way out instead of writing the sum back.
 * Memory: the float64 sum plus BATCH − 1 float32 copies of the model, whatever the number of centres; reused
 * by the next round once `meanFloat32` has copied the result out (runtime.ts: fresh pages are expensive).
 */

/** Updates folded per pass over the float64 sum (≤ FOLD_MAX). See docs/benchmarks.md for the measurements. */
export const FOLD_BATCH = 4;
/** Coordinates staged per kernel call (32 KiB of float32: stays in L1/L2 while it is folded). */
const CHUNK = 8192;

export class SimdFold {
  private readonly instance: KernelInstance;
  private readonly offsets: number[] = []; // per tensor, in coordinates, each a multiple of 4
  private readonly table: number;
  private readonly stage: number;
  private readonly acc: number;
  private readonly slots: number[];
  private readonly held: number[] = []; // numExamples of the updates waiting in slots
  private started = false; // a pass has written the sum
  private finished = false;

  /** Whether a model with these tensor lengths fits one kernel memory (the float64 sum and the staging area at least). */
  static fits(lengths: readonly number[]): boolean {
    return SimdFold.plan(lengths, 0).size <= MAX_KERNEL_MEMORY;
  }

  private static plan(lengths: readonly number[], slots: number) {
    const padded = lengths.reduce((s, n) => s + padTo4(n), 0);
    const layout = new Layout();
    const table = layout.take(FOLD_TABLE_WEIGHTS + 8 * FOLD_MAX);
    const stage = layout.take(CHUNK * 4);
    const acc = layout.take(padded * 8);
    const slotOffsets = Array.from({ length: slots }, () => layout.take(padded * 4));
    return { table, stage, acc, slotOffsets, size: layout.size };
  }

  constructor(
    private readonly lengths: readonly number[],
    batch = FOLD_BATCH,
  ) {
    if (!(batch >= 1 && batch <= FOLD_MAX)) throw new RangeError(`fold batch must be 1..${FOLD_MAX}`);
    let slots = batch - 1;
    while (slots > 0 && SimdFold.plan(lengths, slots).size > MAX_KERNEL_MEMORY) slots--;
    const plan = SimdFold.plan(lengths, slots);
    this.instance = acquireInstance(plan.size); // possibly last round's: stale bytes, every region is written before it is read
    let at = 0;
    for (const n of lengths) {
      this.offsets.push(at);
      at += padTo4(n);
    }
    this.table = plan.table;
    this.stage = plan.stage;
    this.acc = plan.acc;
    this.slots = plan.slotOffsets;
  }

  /** Adds numExamples · tensors. Reads the tensors only during the call. */
  add(tensors: readonly Float32Array[], numExamples: number): void {
    if (this.finished) throw new Error('SimdFold: add() after the sum was taken');
    if (this.held.length < this.slots.length) {
      const slot = this.slots[this.held.length] / 4;
      tensors.forEach((t, i) => this.instance.f32.set(t, slot + this.offsets[i]));
      this.held.push(numExamples);
      return;
    }
    this.pass('sum', 0, tensors, numExamples);
  }

  /**
   * One pass over the sum: the updates held in slots, then `last` (staged chunk by chunk) if given. `end` says
   * what the pass leaves (see the fold kernels); `divisor` is Σ nᵢ for the means.
   */
  private pass(end: FoldEnd, divisor: number, last?: readonly Float32Array[], lastExamples = 0): void {
    const { f32, f64, i32, kernels } = this.instance;
    const held = this.held.length;
    const k = held + (last ? 1 : 0);
    if (!this.started && k === 0) throw new Error('SimdFold: nothing to fold');
    const weights = last ? [...this.held, lastExamples] : this.held;
    weights.forEach((w, j) => (f64[(this.table + FOLD_TABLE_WEIGHTS) / 8 + j] = w));
    const fold = kernels.fold(this.started ? 'acc' : 'zero', end, k);
    const ptrs = this.table / 4;
    this.lengths.forEach((length, t) => {
      const base = this.offsets[t];
      for (let o = 0; o < length; o += CHUNK) {
        const n = Math.min(CHUNK, length - o);
        for (let j = 0; j < held; j++) i32[ptrs + j] = this.slots[j] + (base + o) * 4;
        if (last) {
          f32.set(last[t].subarray(o, o + n), this.stage / 4);
          i32[ptrs + held] = this.stage;
        }
        // mean32 writes float32 results over the start of the sum: coordinate c at acc + 4c
        fold(this.acc + (base + o) * 8, this.table, Math.ceil(n / 4), divisor, this.acc + (base + o) * 4);
      }
    });
    this.held.length = 0;
    this.started = true;
  }

  private finish(end: FoldEnd, total: number): void {
    if (this.finished) throw new Error('SimdFold: the sum was already taken');
    this.finished = true;
    this.pass(end, total);
  }

  /** Σ / total in float64, one view per tensor (on the kernel memory). Ends the fold. */
  meanFloat64(total: number): Float64Array[] {
    this.finish('mean64', total);
    const at = this.acc / 8;
    return this.lengths.map((n, t) => this.instance.f64.subarray(at + this.offsets[t], at + this.offsets[t] + n));
  }

  /** Σ / total rounded to float32, fresh arrays. Ends the fold. */
  meanFloat32(total: number): Float32Array[] {
    this.finish('mean32', total);
    const at = this.acc / 4;
    const means = this.lengths.map((n, t) => this.instance.f32.slice(at + this.offsets[t], at + this.offsets[t] + n));
    releaseInstance(this.instance); // nothing refers to it any more (meanFloat64's views keep theirs)
    return means;
  }
}
