import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { GRADIENT_KERNELS_WASM_BASE64 } from './generated/gradient-kernels-wasm';

/**
 * Instantiates the generated gradient kernels (build/kernels-source.ts) over the wasm backend's own linear
 * memory, so they work on tensors in place: a tensor's data is at `backend.dataIdMap.get(dataId).memoryOffset`.
 * tfjs-backend-wasm 4.22's single-threaded builds (the ones Node loads) export that memory as `asm.memory`;
 * where it is not exported (the threaded build imports a shared one) or WebAssembly SIMD is missing, there
 * are no kernels and the callers keep their generic paths. The TypeScript lib here has no WebAssembly
 * declarations (no DOM lib), so the few members used are typed locally, as in fl-core's kernels/runtime.ts.
 */

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}

type Fn = (...args: number[]) => void;

/** The kernels' exports; see build/kernels-source.ts for what each computes. All arguments are i32 (byte offsets, counts). */
export interface GradientKernels {
  readonly filterGrad: Fn;
  readonly maxPoolGrad2x2: Fn;
  readonly columnSums: Fn;
}

let compiled: object | null | undefined;

function kernelsModule(): object | null {
  if (compiled !== undefined) return compiled;
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = Uint8Array.from(Buffer.from(GRADIENT_KERNELS_WASM_BASE64, 'base64'));
  compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  return compiled;
}

/** One instance per backend memory (a re-created wasm backend gets a new memory, hence a new instance). */
const instances = new WeakMap<object, GradientKernels>();

/**
 * The backend's heap as a WebAssembly.Memory, if its build exports it. Checked by tag, not instanceof: under
 * jest the backend may come from another realm than this module's globals.
 */
function backendMemory(backend: BackendWasm): WasmMemory | undefined {
  const module = backend.wasm as unknown as { asm?: { memory?: unknown }; HEAPU8?: Uint8Array };
  const memory = module.asm?.memory;
  const tag = (v: unknown) => Object.prototype.toString.call(v);
  if (tag(memory) !== '[object WebAssembly.Memory]') return undefined;
  const buffer = (memory as WasmMemory).buffer;
  // Only an unshared memory matches the kernels' import (the threaded build's is shared); it must be tfjs' heap.
  if (tag(buffer) !== '[object ArrayBuffer]' || buffer !== module.HEAPU8?.buffer) return undefined;
  return memory as WasmMemory;
}

/** The kernels over this backend's memory, or null when this runtime or build cannot run them. */
export function gradientKernels(backend: BackendWasm): GradientKernels | null {
  const memory = backendMemory(backend);
  if (!memory) return null;
  const known = instances.get(memory);
  if (known) return known;
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  const module = kernelsModule();
  if (!wasm || !module) return null;
  const { exports } = new wasm.Instance(module, { env: { memory } });
  const fn = (name: string) => exports[name] as Fn;
  const kernels: GradientKernels = { filterGrad: fn('filterGrad'), maxPoolGrad2x2: fn('maxPoolGrad2x2'), columnSums: fn('columnSums') };
  instances.set(memory, kernels);
  return kernels;
}

/** Byte offset of a tensor's data in the backend's memory. */
export function heapOffset(backend: BackendWasm, dataId: object): number {
  const data = backend.dataIdMap.get(dataId);
  if (!data) throw new Error('wasm gradient kernel: a tensor is not on the wasm backend');
  return data.memoryOffset;
}
