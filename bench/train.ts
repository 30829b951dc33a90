// Local training throughput of the default model (small-cnn): images per second for forward + backward + SGD update,
// batch 32, after a warm-up, on tfjs' WebAssembly backend (with libs/training's gradient kernels) and its plain-JS cpu
// backend, next to the same architecture in PyTorch on the CPU with as many threads as wasm uses
// (bench/torch/train_small_cnn.sh; torchImgsPerSec is null, with torchReason, when torch cannot run).
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { modelSpec } from '../libs/training/src/models';
import { registerWasmGradients } from '../libs/training/src/tfjs/wasm-gradients';

const log = (s: string) => process.stderr.write(`[bench train] ${s}\n`);
const MODEL = 'small-cnn';
const CLASSES = 2;

interface Throughput {
  imgsPerSec: number;
  /** Per second of this process' CPU time: steadier than wall time when other work shares the cores. */
  imgsPerCpuSec: number;
  batches: number;
  seconds: number;
}

/**
 * Trains small-cnn on one fixed batch: `warmup` untimed steps on `warmupBatch` images (JIT and kernel
 * set-up; a smaller batch takes the same code paths), then timed steps until both minimums are reached.
 */
async function throughput(backend: string, inputSize: number, batch: number, warmup: { steps: number; batch: number }, minBatches: number, minSeconds: number): Promise<Throughput> {
  await tf.setBackend(backend);
  await tf.ready();
  const model = modelSpec(MODEL).build({ inputShape: [inputSize, inputSize, 1], classes: CLASSES, seed: 1 });
  const optimizer = tf.train.sgd(0.01);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const x = tf.randomNormal([batch, inputSize, inputSize, 1], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % CLASSES), 'int32'), CLASSES));
  try {
    // trainOnBatch returns the loss as a number, so each step has finished when it resolves.
    const [wx, wy] = warmup.batch < batch ? [x.slice(0, warmup.batch), y.slice(0, warmup.batch)] : [x, y];
    for (let i = 0; i < warmup.steps; i++) await model.trainOnBatch(wx, wy);
    if (wx !== x) tf.dispose([wx, wy]);
    let batches = 0;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
    while (batches < minBatches || elapsed() < minSeconds) {
      await model.trainOnBatch(x, y);
      batches++;
    }
    const seconds = elapsed();
    const cpu = process.cpuUsage(cpu0);
    const imgsPerSec = (batches * batch) / seconds;
    const imgsPerCpuSec = (batches * batch) / ((cpu.user + cpu.system) / 1e6);
    log(`${backend}: ${batches} batches of ${batch} at ${inputSize}×${inputSize} in ${seconds.toFixed(2)} s: ${imgsPerSec.toFixed(1)} images/s (${imgsPerCpuSec.toFixed(1)} per CPU-second)`);
    return { imgsPerSec, imgsPerCpuSec, batches, seconds };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }
}

/** The PyTorch reference, through its script (which sets up bench/.venv on first use). */
function torchThroughput(inputSize: number, batch: number, threads: number, seconds: number): { imgsPerSec: number | null; imgsPerCpuSec?: number; version?: string; reason?: string } {
  const script = join(__dirname, 'torch', 'train_small_cnn.sh');
  log(`PyTorch: bash ${script} (creates bench/.venv with torch on first use)`);
  const run = spawnSync('bash', [script, '--input-size', String(inputSize), '--batch', String(batch), '--threads', String(threads), '--seconds', String(seconds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60 * 60 * 1000, // the first run downloads torch
  });
  process.stderr.write(run.stderr ?? '');
  const line = (run.stdout ?? '').trim().split('\n').pop() ?? '';
  if (run.status === 0 && line.startsWith('{')) {
    const out = JSON.parse(line) as { imgsPerSec: number; imgsPerCpuSec: number; torch: string };
    return { imgsPerSec: out.imgsPerSec, imgsPerCpuSec: out.imgsPerCpuSec, version: out.torch };
  }
  const why = (run.error?.message ?? (run.stderr ?? '').trim().split('\n').pop()) || `exit status ${run.status}`;
  return { imgsPerSec: null, reason: `PyTorch reference did not run: ${why}` };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      'input-size': { type: 'string', default: '64' },
      batch: { type: 'string', default: '32' },
      seconds: { type: 'string', default: '10' },
      'cpu-batches': { type: 'string', default: '1' },
      'no-torch': { type: 'boolean', default: false },
    },
  });
  const inputSize = Number(values['input-size']);
  const batch = Number(values.batch);
  const seconds = Number(values.seconds);
  const cpuBatches = Number(values['cpu-batches']);

  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  registerWasmGradients();
  // In Node tfjs-backend-wasm 4.22 loads its single-threaded SIMD build (WASM_HAS_MULTITHREAD_SUPPORT is false
  // there), so this is 1; PyTorch gets the same number of threads.
  const threads = getThreadsCount();
  const params = modelSpec(MODEL).build({ inputShape: [inputSize, inputSize, 1], classes: CLASSES, seed: 1 });
  const paramCount = params.countParams();
  params.dispose();
  log(`${MODEL} (${paramCount} parameters), input ${inputSize}×${inputSize}×1, batch ${batch}, wasm threads ${threads}, ${cpus().length} CPUs`);

  const wasm = await throughput('wasm', inputSize, batch, { steps: 3, batch }, 5, seconds);
  // The cpu backend is two orders of magnitude slower (about 100 s a batch at 64×64): a warm-up step on
  // 4 images, then a single timed batch by default.
  const cpu = await throughput('cpu', inputSize, batch, { steps: 1, batch: Math.min(4, batch) }, cpuBatches, 0);
  await tf.setBackend('wasm');
  const torch = values['no-torch'] ? { imgsPerSec: null, reason: 'skipped (--no-torch)' } : torchThroughput(inputSize, batch, threads, seconds);

  const round = (x: number) => Math.round(x * 10) / 10;
  const result = {
    bench: 'train',
    model: MODEL,
    inputSize,
    wasmImgsPerSec: round(wasm.imgsPerSec),
    cpuImgsPerSec: round(cpu.imgsPerSec),
    torchImgsPerSec: torch.imgsPerSec === null ? null : round(torch.imgsPerSec),
    ...(torch.reason ? { torchReason: torch.reason } : {}),
    wasmOverCpu: round(wasm.imgsPerSec / cpu.imgsPerSec),
    wasmOverTorch: torch.imgsPerSec === null ? null : Math.round((wasm.imgsPerSec / torch.imgsPerSec) * 100) / 100,
    perCpuSecond: { wasm: round(wasm.imgsPerCpuSec), cpu: round(cpu.imgsPerCpuSec), torch: torch.imgsPerCpuSec ?? null },
    batch,
    params: paramCount,
    threads,
    timed: { wasmBatches: wasm.batches, cpuBatches: cpu.batches },
    versions: { tfjs: tf.version.tfjs, tfjsBackendWasm: version_wasm, ...(torch.version ? { torch: torch.version } : {}) },
    machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  };
  log(`wasm ${result.wasmImgsPerSec} images/s, cpu ${result.cpuImgsPerSec} (wasm ${result.wasmOverCpu}× cpu), PyTorch ${result.torchImgsPerSec ?? `n/a: ${torch.reason}`}${result.wasmOverTorch === null ? '' : ` (wasm ${result.wasmOverTorch}× PyTorch)`}`);
  return result;
}
