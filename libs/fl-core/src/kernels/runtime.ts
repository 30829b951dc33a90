import { FOLD_MAX, foldName, type FoldEnd, type FoldStart } from './abi';
import { KERNELS_WASM_BASE64 } from './generated/kernels-wasm';

/**
 * Loads the generated kernels module once per process and hands out instances, each over its own linear
 * memory. The TypeScript lib here has no WebAssembly declarations (no DOM lib), so the few members used are
 * typed locally.
 */

interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/** The runtime's WebAssembly API, if there is one. */
export function webAssembly(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

type Fn = (...args: number[]) => void;

/** The kernels' exports (see build/kernels-source.ts for what each computes). */
export interface KernelExports {
  /** fold(start, end, k): the fold kernel for k sources (k = 0 only with start 'acc': just the division). */
  readonly fold: (start: FoldStart, end: FoldEnd, k: number) => Fn;
  readonly compareExchange: Fn;
  readonly meanOfTwo: Fn;
  readonly meanOfRows: Fn;
  readonly squaredDistances: Fn;
}

export const WASM_PAGE = 65536;
/** Largest linear memory an instance asks for: 2 GiB keeps every byte offset a positive i32 and stays well inside what V8 grants. */
export const MAX_KERNEL_MEMORY = 2 ** 31 - WASM_PAGE;

let compiled: object | null | undefined;

export function kernelsModule(): object | null {
  if (compiled !== undefined) return compiled;
  const wasm = webAssembly();
  const bytes = Uint8Array.from(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  return compiled;
}

/** Whether this runtime can run the kernels (WebAssembly with SIMD); without them every strategy uses its JavaScript reference. */
export function kernelsAvailable(): boolean {
  return kernelsModule() !== null;
}

/** One instance of the kernels over its own memory of `bytes` bytes (rounded up to pages, zero-filled), with views on it. */
export class KernelInstance {
  readonly kernels: KernelExports;
  /** Size of the memory in bytes. */
  readonly bytes: number;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** The shared linear memory (a worker thread can instantiate the kernels over it). */
  readonly memory: WasmMemory;

  constructor(bytes: number) {
    const wasm = webAssembly();
    const module = kernelsModule();
    if (!wasm || !module) throw new Error('WebAssembly SIMD kernels are not available in this runtime');
    if (bytes > MAX_KERNEL_MEMORY) throw new RangeError(`kernel memory of ${bytes} bytes exceeds ${MAX_KERNEL_MEMORY}`);
    const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
    this.bytes = pages * WASM_PAGE;
    const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    this.memory = memory;
    const { exports } = new wasm.Instance(module, { env: { memory } });
    const fn = (name: string) => exports[name] as Fn;
    this.kernels = {
      fold: (start, end, k) => {
        if (k < (start === 'acc' ? 0 : 1) || k > FOLD_MAX) throw new RangeError(`no fold kernel for ${k} sources from ${start}`);
        return fn(foldName(start, end, k));
      },
      compareExchange: fn('compareExchange'),
      meanOfTwo: fn('meanOfTwo'),
      meanOfRows: fn('meanOfRows'),
      squaredDistances: fn('squaredDistances'),
    };
    this.f32 = new Float32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
  }
}

/** Bump allocator over a kernel memory layout: 64-byte aligned regions, computed before the memory exists. */
export class Layout {
  private next = 0;
  /** Reserves `bytes` and returns the byte offset of the region. */
  take(bytes: number): number {
    const at = this.next;
    this.next = at + Math.ceil(bytes / 64) * 64;
    return at;
  }
  get size(): number {
    return this.next;
  }
}

/** n rounded up to a multiple of 4 (kernels work on groups of 4 coordinates). */
export const padTo4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * One spare kernel memory, kept between rounds. A fresh memory's pages are mapped on first write, and on this
 * kind of VM that costs as much as copying them several times (≈ 2.4 GB/s against ≈ 10 GB/s for a copy), so
 * FedAvg hands its memory back after the last round's result is copied out and the next round takes it
 * again. Its contents are stale: users must write before they read (see SimdFold).
 */
let spare: KernelInstance | undefined;

/** A kernel instance of at least `bytes`: the spare one if it fits without wasting more than half of it, else a new one. */
export function acquireInstance(bytes: number): KernelInstance {
  if (spare && spare.bytes >= bytes && spare.bytes <= 2 * bytes + 64 * WASM_PAGE) {
    const instance = spare;
    spare = undefined;
    return instance;
  }
  return new KernelInstance(bytes);
}

/** Gives an instance back for a later acquireInstance; nothing may use it (or views on it) afterwards. */
export function releaseInstance(instance: KernelInstance): void {
  spare = instance;
}

/**
 * The scratch instance for kernels that keep nothing between calls (coordinate-wise, distances): one per
 * process, grown when a call needs more. Creating a WebAssembly memory per call is not free — each one is a
 * large address-space reservation for V8 to map and later collect, and a stream of them was measured to slow
 * down the FedAvg fold that ran next by half. Calls are synchronous, so one caller uses it at a time.
 */
let scratch: KernelInstance | undefined;

export function scratchInstance(bytes: number): KernelInstance {
  if (!scratch || scratch.bytes < bytes) scratch = new KernelInstance(Math.max(bytes, 1024 * 1024));
  return scratch;
}
