import { FOLD_MAX, FOLD_TABLE_WEIGHTS, type FoldEnd } from './abi';
import { foldKernelIndex, FoldWorker, RING } from './fold-worker';
import { acquireInstance, releaseInstance, type KernelInstance, Layout, MAX_KERNEL_MEMORY, padTo4 } from './runtime';

/**
 * FedAvg's running sum on the WebAssembly kernels: Σ nᵢ·wᵢ in float64, the same operations in the same order
 * as the JavaScript reference (0 + w₀·n₀ + w₁·n₁ + …, updates in arrival order), so the same bits.
 *
 * Memory traffic is what limits a fold (the arithmetic is a multiply and an add per coordinate): a float64
 * sum read and written per update costs 16 bytes per coordinate against 4 of input, and copying an update
 * into the kernel memory costs as much as the copy it is measured against. So neither happens per update:
 * `add` keeps a reference to up to BATCH updates (nothing is copied), and when BATCH are held — or at the
 * end — one pass folds them together, chunk by chunk: each held update's chunk is staged into a small area
 * of the kernel memory that stays in cache, the kernel folds the BATCH staged chunks at once, and the sum is
 * read and written once per BATCH updates. With at most BATCH updates in a round (the common case) there is
 * a single pass, starting from zero and ending with the mean rounded to float32, which is staged out and
 * copied straight into the result: the float64 sum is never written to memory at all.
 *
 * The arithmetic (float64, to match the reference bits) costs about as much as the staging. So a worker
 * thread (fold-worker.ts) runs the kernel on chunk i while this thread stages chunk i + 1 and copies chunk
 * i − 1's result out, through two sets of staging areas; where there are no worker threads it runs inline.
 *
 * Memory: the float64 sum (used only when a round has more than BATCH updates) and BATCH − 1 references to
 * the caller's updates, whatever the number of centres; the caller must not modify an update's arrays until
 * the round is finished. The kernel memory is reused by the next round once the mean is taken (runtime.ts:
 * fresh pages are expensive).
 */

/** Updates folded per pass over the float64 sum (≤ FOLD_MAX). See docs/benchmarks.md for the measurements. */
export const FOLD_BATCH = FOLD_MAX;
/**
 * Coordinates staged per kernel call and source (256 KiB of float32; a set of BATCH + 1 stays in L3 while
 * folded). Large, so that the two threads meet a few hundred times per pass and not thousands: measured on
 * the 2-core VM, 16 Ki coordinates gave FedAvg 0.55 of memcpy at 5 centres, 64 Ki gave 0.99 (docs/benchmarks.md).
 * Spinning instead of sleeping while waiting made it worse on two cores (the threads can share one).
 */
const CHUNK = 65536;

/** One set of staging areas: the kernel's table (source pointers and weights), a chunk per source, the output chunk. */
interface StageSet {
  readonly table: number;
  readonly stages: readonly number[];
  readonly out: number;
}

/** A chunk of the model a pass folds: tensor t, coordinates [o, o + n). */
interface Chunk {
  readonly t: number;
  readonly o: number;
  readonly n: number;
}

interface Held {
  readonly tensors: readonly Float32Array[];
  readonly numExamples: number;
}

export class SimdFold {
  private readonly instance: KernelInstance;
  private readonly offsets: number[] = []; // per tensor, in coordinates, each a multiple of 4
  private readonly sets: StageSet[];
  private readonly acc: number;
  private readonly held: Held[] = [];
  private started = false; // a pass has written the sum
  private finished = false;

  /** Whether a model with these tensor lengths fits one kernel memory (the float64 sum and the staging areas). */
  static fits(lengths: readonly number[]): boolean {
    return SimdFold.plan(lengths, FOLD_MAX).size <= MAX_KERNEL_MEMORY;
  }

  private static plan(lengths: readonly number[], batch: number) {
    const padded = lengths.reduce((s, n) => s + padTo4(n), 0);
    const layout = new Layout();
    const sets = Array.from({ length: RING }, () => ({
      table: layout.take(FOLD_TABLE_WEIGHTS + 8 * FOLD_MAX),
      stages: Array.from({ length: batch }, () => layout.take(CHUNK * 4)),
      out: layout.take(CHUNK * 4),
    }));
    const acc = layout.take(padded * 8);
    return { sets, acc, size: layout.size };
  }

  constructor(
    private readonly lengths: readonly number[],
    private readonly batch = FOLD_BATCH,
    /** The worker thread that runs the kernels, or null to run them on this thread. */
    private readonly worker: FoldWorker | null = FoldWorker.get(),
  ) {
    if (!(batch >= 1 && batch <= FOLD_MAX)) throw new RangeError(`fold batch must be 1..${FOLD_MAX}`);
    const plan = SimdFold.plan(lengths, batch);
    this.instance = acquireInstance(plan.size); // possibly last round's: stale bytes, every region is written before it is read
    let at = 0;
    for (const n of lengths) {
      this.offsets.push(at);
      at += padTo4(n);
    }
    this.sets = plan.sets;
    this.acc = plan.acc;
  }

  /** Adds numExamples · tensors. Keeps a reference until the batch is folded: the arrays must not change before the mean is taken. */
  add(tensors: readonly Float32Array[], numExamples: number): void {
    if (this.finished) throw new Error('SimdFold: add() after the sum was taken');
    this.held.push({ tensors, numExamples });
    if (this.held.length === this.batch) this.pass('sum', 0);
  }

  /**
   * One pass over the sum with the held updates. `end` says what the pass leaves (see the fold kernels);
   * `divisor` is Σ nᵢ for the means; with `end` 'mean32' the result is copied into `out`.
   */
  private pass(end: FoldEnd, divisor: number, out?: readonly Float32Array[]): void {
    const { f32, f64, i32, kernels } = this.instance;
    const held = this.held;
    const k = held.length;
    const start = this.started ? 'acc' : 'zero';
    if (start === 'zero' && k === 0) throw new Error('SimdFold: nothing to fold');
    for (const set of this.sets) {
      held.forEach((h, j) => {
        f64[(set.table + FOLD_TABLE_WEIGHTS) / 8 + j] = h.numExamples;
        i32[set.table / 4 + j] = set.stages[j];
      });
    }
    const chunks: Chunk[] = [];
    this.lengths.forEach((length, t) => {
      for (let o = 0; o < length; o += CHUNK) chunks.push({ t, o, n: Math.min(CHUNK, length - o) });
    });
    const stage = (c: Chunk, set: StageSet) => {
      for (let j = 0; j < k; j++) f32.set(held[j].tensors[c.t].subarray(c.o, c.o + c.n), set.stages[j] / 4);
    };
    const copyOut = (c: Chunk, set: StageSet) => {
      if (end === 'mean32') out![c.t].set(f32.subarray(set.out / 4, set.out / 4 + c.n), c.o);
    };
    const accAt = (c: Chunk) => this.acc + (this.offsets[c.t] + c.o) * 8;

    const worker = this.worker;
    if (!worker) {
      const fold = kernels.fold(start, end, k);
      const set = this.sets[0];
      for (const c of chunks) {
        stage(c, set);
        fold(accAt(c), set.table, Math.ceil(c.n / 4), divisor, set.out);
        copyOut(c, set);
      }
    } else {
      // chunk i uses set i % RING; before staging chunk i, chunk i − RING (same set) must be done and copied out
      worker.begin(this.instance);
      const first = worker.posted;
      const kernel = foldKernelIndex(start, end, k);
      chunks.forEach((c, i) => {
        const set = this.sets[i % RING];
        if (i >= RING) {
          worker.waitFor(first + i - RING + 1);
          copyOut(chunks[i - RING], set);
        }
        stage(c, set);
        worker.post({ kernel, acc: accAt(c), table: set.table, groups: Math.ceil(c.n / 4), divisor, out: set.out });
      });
      worker.end();
      for (let i = Math.max(0, chunks.length - RING); i < chunks.length; i++) copyOut(chunks[i], this.sets[i % RING]);
    }
    held.length = 0;
    this.started = true;
  }

  private finish(end: FoldEnd, total: number, out?: readonly Float32Array[]): void {
    if (this.finished) throw new Error('SimdFold: the sum was already taken');
    this.finished = true;
    this.pass(end, total, out);
  }

  /** Σ / total in float64, one view per tensor (on the kernel memory). Ends the fold. */
  meanFloat64(total: number): Float64Array[] {
    this.finish('mean64', total);
    const at = this.acc / 8;
    return this.lengths.map((n, t) => this.instance.f64.subarray(at + this.offsets[t], at + this.offsets[t] + n));
  }

  /** Σ / total rounded to float32, written into `out` (one array per tensor) or into fresh arrays. Ends the fold. */
  meanFloat32(total: number, out?: readonly Float32Array[]): Float32Array[] {
    const result = out ? [...out] : this.lengths.map((n) => new Float32Array(n));
    this.finish('mean32', total, result);
    releaseInstance(this.instance); // nothing refers to it any more (meanFloat64's views keep theirs)
    return result;
  }
}
