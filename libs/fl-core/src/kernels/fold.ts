import { FOLD_MAX, FOLD_TABLE_WEIGHTS } from './abi';
import { KernelInstance, Layout, MAX_KERNEL_MEMORY, padTo4 } from './runtime';

/**
 * FedAvg's running sum on the WebAssembly kernels: Σ nᵢ·wᵢ in float64, the same operations in the same order
 * as the JavaScript reference (acc + w₀·n₀ + w₁·n₁ + …, each update in arrival order), so the same bits.
 *
 * Memory traffic is what limits a fold (the arithmetic is a multiply and an add per coordinate), and the float64
 * sum is read and written once per pass: 16 bytes per coordinate against 4 of input. So updates are batched:
 * the first BATCH − 1 updates of a batch are copied into slots inside the kernel memory (their buffers are not
 * kept: the caller may reuse them as soon as `add` returns), and the BATCH-th is folded together with them in
 * one pass, chunk by chunk through a small staging area, reading and writing the sum once for BATCH updates.
 * Memory: the float64 sum plus BATCH − 1 float32 copies of the model, whatever the number of centres.
 */

/** Updates folded per pass over the float64 sum (≤ FOLD_MAX). 4: see docs/benchmarks.md for the measurements. */
export const FOLD_BATCH = 4;
/** Coordinates staged per kernel call (32 KiB of float32: stays in L1/L2 while it is folded). */
const CHUNK = 8192;

export class SimdFold {
  private readonly instance: KernelInstance;
  private readonly offsets: number[]; // per tensor, in coordinates, each a multiple of 4
  private readonly groups: number; // padded coordinates / 4
  private readonly table: number;
  private readonly stage: number;
  private readonly acc: number;
  private readonly slots: number[];
  private readonly held: number[] = []; // numExamples of the updates waiting in slots
  private finished = false;

  /** Whether a model with these tensor lengths fits (at least the float64 sum and the staging area). */
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
    return { padded, table, stage, acc, slotOffsets, size: layout.size };
  }

  constructor(private readonly lengths: readonly number[], batch = FOLD_BATCH) {
    if (!(batch >= 1 && batch <= FOLD_MAX)) throw new RangeError(`fold batch must be 1..${FOLD_MAX}`);
    let slots = batch - 1;
    while (slots > 0 && SimdFold.plan(lengths, slots).size > MAX_KERNEL_MEMORY) slots--;
    const plan = SimdFold.plan(lengths, slots);
    this.instance = new KernelInstance(plan.size);
    this.offsets = [];
    let at = 0;
    for (const n of lengths) {
      this.offsets.push(at);
      at += padTo4(n);
    }
    this.groups = plan.padded / 4;
    this.table = plan.table;
    this.stage = plan.stage;
    this.acc = plan.acc;
    this.slots = plan.slotOffsets;
  }

  /** Adds numExamples · tensors. Reads the tensors only during the call. */
  add(tensors: readonly Float32Array[], numExamples: number): void {
    if (this.held.length < this.slots.length) {
      const { f32 } = this.instance;
      const slot = this.slots[this.held.length]! / 4;
      tensors.forEach((t, i) => f32.set(t, slot + this.offsets[i]!));
      this.held.push(numExamples);
      return;
    }
    this.pass(tensors, numExamples);
  }

  /** One pass over the sum: the updates held in slots, then (if given) `last`, staged chunk by chunk. */
  private pass(last: readonly Float32Array[] | undefined, lastExamples: number): void {
    const { f32, f64, i32, kernels } = this.instance;
    const held = this.held.length;
    const k = held + (last ? 1 : 0);
    if (k === 0) return;
    const weights = [...this.held, ...(last ? [lastExamples] : [])];
    weights.forEach((w, j) => (f64[(this.table + FOLD_TABLE_WEIGHTS) / 8 + j] = w));
    const fold = kernels.fold[k]!;
    const ptrs = this.table / 4;
    this.lengths.forEach((length, t) => {
      const base = this.offsets[t]!;
      for (let o = 0; o < length; o += CHUNK) {
        const n = Math.min(CHUNK, length - o);
        for (let j = 0; j < held; j++) i32[ptrs + j] = this.slots[j]! + (base + o) * 4;
        if (last) {
          f32.set(last[t]!.subarray(o, o + n), this.stage / 4);
          i32[ptrs + held] = this.stage;
        }
        fold(this.acc + (base + o) * 8, this.table, Math.ceil(n / 4));
      }
    });
    this.held.length = 0;
  }

  private end(): void {
    if (this.finished) throw new Error('SimdFold: the sum was already taken');
    this.finished = true;
    this.pass(undefined, 0);
  }

  /** Σ / total in float64, one view per tensor (on the kernel memory). Ends the fold. */
  meanFloat64(total: number): Float64Array[] {
    this.end();
    const { f64, kernels } = this.instance;
    kernels.divide(this.acc, this.groups, total);
    return this.lengths.map((n, t) => f64.subarray(this.acc / 8 + this.offsets[t]!, this.acc / 8 + this.offsets[t]! + n));
  }

  /** Σ / total rounded to float32, fresh arrays. Ends the fold. */
  meanFloat32(total: number): Float32Array[] {
    this.end();
    const { f32, kernels } = this.instance;
    kernels.divideToFloat32(this.acc, this.groups, total);
    return this.lengths.map((n, t) => f32.slice(this.acc / 4 + this.offsets[t]!, this.acc / 4 + this.offsets[t]! + n));
  }
}
