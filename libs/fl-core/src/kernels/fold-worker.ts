import { Worker } from 'node:worker_threads';
import { FOLD_MAX, foldName, type FoldEnd, type FoldStart } from './abi';
import { kernelsModule, type KernelInstance } from './runtime';

/**
 * A worker thread that runs fold kernels over a shared kernel memory while the main thread stages the next
 * chunk and copies the previous result out: the two halves of a FedAvg pass — moving bytes, and the float64
 * arithmetic — overlap on two cores instead of following each other on one.
 *
 * Protocol (no message per chunk: a small shared control block and Atomics):
 *   ctl[POSTED]  chunks posted by the main thread (it writes the job's slot, then increments and notifies)
 *   ctl[DONE]    chunks the worker has finished (it increments and notifies)
 *   ctl[FAILED]  1 when a kernel threw; the error text is posted as a message (the main thread reads it after)
 *   job slot j = chunk % RING: kernel index, acc, table, groups, out (i32) and divisor (f64)
 * A job with kernel index -1 ends the pass; the worker then goes back to its event loop for the next pass
 * (each pass first sends the memory it works on, so a worker serves any kernel instance).
 */

const POSTED = 0;
const DONE = 1;
const FAILED = 2;
export const RING = 2;
const SLOT_I32 = 8; // kernel, acc, table, groups, out, pad, divisor (f64 at i32 6..7)
const HEADER_I32 = 4;
const CONTROL_BYTES = (HEADER_I32 + RING * SLOT_I32) * 4;
/** How long the main thread waits for one chunk before it calls the worker lost (a chunk takes microseconds). */
const STALL_MS = 30_000;

/** Every fold kernel, in a fixed order shared with the worker. */
const FOLD_NAMES: string[] = [];
for (const start of ['acc', 'zero'] as const) {
  for (const end of ['sum', 'mean64', 'mean32'] as const) {
    for (let k = start === 'acc' ? 0 : 1; k <= FOLD_MAX; k++) FOLD_NAMES.push(foldName(start, end, k));
  }
}

// Plain JavaScript (the worker runs without the TypeScript loader, under jest too).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, control, names } = workerData;
const ctl = new Int32Array(control);
const f64 = new Float64Array(control);
const instances = new WeakMap();
parentPort.on('message', ({ memory }) => {
  let fns = instances.get(memory);
  if (!fns) {
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    fns = names.map((n) => exports[n]);
    instances.set(memory, fns);
  }
  let next = Atomics.load(ctl, ${DONE});
  for (;;) {
    const posted = Atomics.load(ctl, ${POSTED});
    if (next === posted) { Atomics.wait(ctl, ${POSTED}, posted); continue; }
    const at = ${HEADER_I32} + (next % ${RING}) * ${SLOT_I32};
    const kernel = ctl[at];
    if (kernel >= 0) {
      try {
        fns[kernel](ctl[at + 1], ctl[at + 2], ctl[at + 3], f64[(at + 6) / 2], ctl[at + 4]);
      } catch (err) {
        Atomics.store(ctl, ${FAILED}, 1);
        parentPort.postMessage(String(err && err.stack || err));
      }
    }
    next++;
    Atomics.store(ctl, ${DONE}, next);
    Atomics.notify(ctl, ${DONE});
    if (kernel < 0) return;
  }
});
`;

/** The index of a fold kernel in the order the worker knows them (look it up once per pass, not per chunk). */
export function foldKernelIndex(start: FoldStart, end: FoldEnd, k: number): number {
  return FOLD_NAMES.indexOf(foldName(start, end, k));
}

interface Job {
  /** From foldKernelIndex. */
  kernel: number;
  acc: number;
  table: number;
  groups: number;
  divisor: number;
  out: number;
}

export class FoldWorker {
  private readonly worker: Worker;
  private readonly ctl: Int32Array;
  private readonly f64: Float64Array;
  private failure = '';

  private constructor(module: object) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(control);
    this.f64 = new Float64Array(control);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, control, names: FOLD_NAMES } });
    this.worker.on('message', (text: string) => (this.failure = text));
    this.worker.on('error', (err) => {
      this.failure = String(err);
      Atomics.store(this.ctl, FAILED, 1);
    });
    this.worker.unref(); // never keeps the process alive
  }

  /** Starts a pass over `instance`'s memory: every job of the pass runs there, in order. */
  begin(instance: KernelInstance): void {
    this.worker.postMessage({ memory: instance.memory });
  }

  /** Chunks posted so far (the index of the next one). */
  get posted(): number {
    return Atomics.load(this.ctl, POSTED);
  }

  /** Queues a kernel call (waiting, if RING are outstanding, for the oldest: it shares this one's slot). */
  post(job: Job): void {
    const n = this.posted;
    this.waitFor(n - RING + 1);
    const at = HEADER_I32 + (n % RING) * SLOT_I32;
    this.ctl[at] = job.kernel;
    this.ctl[at + 1] = job.acc;
    this.ctl[at + 2] = job.table;
    this.ctl[at + 3] = job.groups;
    this.ctl[at + 4] = job.out;
    this.f64[(at + 6) / 2] = job.divisor;
    Atomics.store(this.ctl, POSTED, n + 1);
    Atomics.notify(this.ctl, POSTED);
  }

  /** Ends the pass (after its last job) and waits for everything posted. */
  end(): void {
    const n = this.posted;
    this.waitFor(n - RING + 1);
    this.ctl[HEADER_I32 + (n % RING) * SLOT_I32] = -1;
    Atomics.store(this.ctl, POSTED, n + 1);
    Atomics.notify(this.ctl, POSTED);
    this.waitFor(n + 1);
  }

  /** Blocks until `count` jobs are done. */
  waitFor(count: number): void {
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      if (Atomics.load(this.ctl, FAILED)) this.lost(`fold worker failed: ${this.failure || 'see its error'}`);
      if (done >= count) return;
      if (Atomics.wait(this.ctl, DONE, done, STALL_MS) === 'timed-out') this.lost(`fold worker stalled: ${done} of ${count} chunks after ${STALL_MS} ms`);
    }
  }

  /** A worker that failed is not used again: later folds run inline. */
  private lost(reason: string): never {
    FoldWorker.shared = null;
    void this.worker.terminate();
    throw new Error(reason);
  }

  private static shared: FoldWorker | null | undefined;

  /**
   * The process's fold worker, started on first use; null where there are no worker threads over shared
   * memory (then folds run inline) or FEDLEDGER_FOLD_WORKER=0 says not to use one.
   */
  static get(): FoldWorker | null {
    if (FoldWorker.shared !== undefined) return FoldWorker.shared;
    const module = kernelsModule();
    FoldWorker.shared = module && process.env.FEDLEDGER_FOLD_WORKER !== '0' ? new FoldWorker(module) : null;
    return FoldWorker.shared;
  }
}
