import { readFileSync } from 'node:fs';
import { initTfjs, tf } from '../src/tfjs/backend';
import { registerWasmGradients, WASM_GRADIENT_KERNELS, wasmKernelPaths } from '../src/tfjs/wasm-gradients';
import { buildGradientKernels } from '../src/tfjs/kernels/build/kernels-source';
import { GRADIENT_KERNELS_FILE } from '../src/tfjs/kernels/build/generate';
import { wasmModuleSource } from '@fedledger/wasm-kit';
import { modelSpec } from '../src/models';

// Gradients on the wasm backend (with the kernels of wasm-gradients.ts) against the cpu backend's, which
// are tfjs' reference loops. Inputs are smooth deterministic values in [−1, 1]; a value passes when
// |wasm − cpu| ≤ 1e-4 · max(1, |cpu|): absolute below 1, relative above.
const TOLERANCE = 1e-4;

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

const fill = (shape: number[], phase: number) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.731 + phase));

/** Gradient of Σ y·g(y) w.r.t. x and filter (g fixed, so dy is not constant), on the current backend, as plain arrays. */
function convGrads(op: 'conv2d' | 'depthwise', xShape: Shape4, fShape: Shape4, strides: number | [number, number], pad: Pad): { dx: Float32Array; df: Float32Array } {
  const x = tf.tensor4d(fill(xShape, 0.3), xShape);
  const f = tf.tensor4d(fill(fShape, 1.7), fShape);
  const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const y = op === 'conv2d' ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad) : tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
    return tf.sum(tf.mul(y, tf.cos(tf.reshape(tf.range(0, y.size), y.shape))));
  };
  const [dx, df] = tf.grads(loss)([x, f]);
  const out = { dx: dx!.dataSync() as Float32Array, df: df!.dataSync() as Float32Array };
  tf.dispose([x, f, dx!, df!]);
  return out;
}

type PathKernel = keyof ReturnType<typeof wasmKernelPaths>;

/** Runs fn and returns how many calls of `kernel` took its fast path and how many fell back, during fn. */
function pathsDuring<T>(kernel: PathKernel, fn: () => T): { result: T; fast: number; fallback: number } {
  const before = wasmKernelPaths()[kernel];
  const result = fn();
  const after = wasmKernelPaths()[kernel];
  return { result, fast: after.fast - before.fast, fallback: after.fallback - before.fallback };
}

function maxPoolGrad(xShape: Shape4, size: number, strides: number, pad: 'same' | 'valid', values: Float32Array): Float32Array {
  const x = tf.tensor4d(values, xShape);
  const dx = tf.grad((a: tf.Tensor) => {
    const y = tf.maxPool(a as tf.Tensor4D, size, strides, pad);
    return tf.sum(tf.mul(y, tf.add(tf.reshape(tf.range(0, y.size), y.shape), 1)));
  })(x);
  const out = dx.dataSync() as Float32Array;
  tf.dispose([x, dx]);
  return out;
}

/** Runs fn on wasm and checks that it leaves no tensor and no wasm buffer behind. */
async function onWasm<T>(fn: () => T): Promise<T> {
  await tf.setBackend('wasm');
  const tensors = tf.memory().numTensors;
  const buffers = tf.backend().numDataIds();
  const result = fn();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(buffers);
  return result;
}

async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend('cpu');
  return fn();
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(err <= worst)) [worst, at] = [err, i]; // NaN counts as worst
  }
  if (!(worst <= TOLERANCE)) throw new Error(`${what}: element ${at} is ${actual[at]} on wasm, ${expected[at]} on cpu`);
}

beforeAll(async () => {
  // initTfjs picks wasm here (no tfjs-node in this container) and registers the kernels.
  expect(await initTfjs()).toBe('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

test('the committed gradient kernels module is what kernels/build/generate.ts produces (regenerate it after editing kernels-source.ts)', () => {
  expect(readFileSync(GRADIENT_KERNELS_FILE.path, 'utf8')).toBe(wasmModuleSource(GRADIENT_KERNELS_FILE, buildGradientKernels()));
});

test('initTfjs registers every gradient kernel for wasm, and registering again changes nothing', () => {
  const before = WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
  expect(before.every((f) => typeof f === 'function')).toBe(true);
  const warn = jest.spyOn(console, 'warn');
  registerWasmGradients();
  expect(warn).not.toHaveBeenCalled();
  warn.mockRestore();
  expect(WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc)).toEqual(before);
});

// The filter gradient takes the SIMD kernel when the output channels are a multiple of 4 (the last filter
// dimension), else the XNNPACK rewrite. The kernel works in tiles of 4 rows (kernel column × input channel) ×
// 8 output channels, with 1–3 rows and 4 channels at the ragged edges, over runs of output rows (16 KiB of dy).
const convCases: { x: Shape4; f: Shape4 }[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4] }, // non-square input, several channels and images; SIMD: 9 rows a kernel row (4 + 4 + 1), 4 columns
  { x: [1, 6, 6, 1], f: [3, 3, 1, 2] },
  { x: [3, 8, 5, 2], f: [2, 3, 2, 5] }, // even, non-square kernel
  { x: [2, 5, 6, 2], f: [1, 1, 2, 3] }, // 1×1: stride 2 skips rows and columns entirely
  { x: [2, 12, 12, 1], f: [3, 3, 1, 16] }, // SIMD: the small CNN's first layer, 3 rows a kernel row
  { x: [2, 9, 11, 5], f: [3, 3, 5, 12] }, // SIMD: 15 rows (4 + 4 + 4 + 3), 12 columns (8 + 4)
  { x: [3, 10, 7, 2], f: [3, 3, 2, 8] }, // SIMD: 6 rows (4 + 2)
  { x: [2, 9, 8, 1], f: [5, 5, 1, 4] }, // SIMD: 5 rows (4 + 1), 5 × 5
  { x: [1, 8, 9, 4], f: [2, 2, 4, 8] }, // SIMD: even kernel, exact tiles
  { x: [2, 6, 7, 3], f: [1, 1, 3, 4] }, // SIMD: 1×1
  { x: [2, 10, 32, 3], f: [3, 3, 3, 64] }, // SIMD: 8 KiB of dy a row at stride 1, so several runs of rows per image
];
const depthwiseCases: { x: Shape4; f: Shape4 }[] = [
  { x: [2, 8, 5, 3], f: [3, 2, 3, 2] }, // channel multiplier 2
  { x: [2, 9, 7, 4], f: [5, 5, 4, 1] }, // EfficientNet's 5×5
  { x: [3, 6, 6, 8], f: [3, 3, 8, 1] },
];
const geometries: { strides: number | [number, number]; pad: Pad }[] = [
  { strides: 1, pad: 'same' },
  { strides: 1, pad: 'valid' },
  { strides: 2, pad: 'same' },
  { strides: 2, pad: 'valid' },
  { strides: [2, 1], pad: 'same' },
  { strides: 2, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
];

describe.each([
  ['conv2d', convCases],
  ['depthwise', depthwiseCases],
] as const)('%s gradients on wasm match cpu', (op, cases) => {
  test.each(cases.flatMap(({ x, f }) => geometries.map((g) => ({ x, f, ...g }))))('x $x, filter $f, strides $strides, pad $pad', async ({ x, f, strides, pad }) => {
    const run = await onWasm(() => pathsDuring('Conv2DBackpropFilter', () => convGrads(op, x, f, strides, pad)));
    const wasm = run.result;
    if (op === 'conv2d') {
      // One filter gradient per case: the SIMD kernel exactly when the output channels are a multiple of 4.
      const simd = f[3] % 4 === 0;
      expect({ fast: run.fast, fallback: run.fallback }).toEqual({ fast: simd ? 1 : 0, fallback: simd ? 0 : 1 });
    }
    const cpu = await onCpu(() => convGrads(op, x, f, strides, pad));
    expectClose(wasm.dx, cpu.dx, 'input gradient');
    expectClose(wasm.df, cpu.df, 'filter gradient');
    // Not vacuous: both gradients carry signal well above the tolerance.
    expect(Math.max(...cpu.dx.map(Math.abs))).toBeGreaterThan(0.05);
    expect(Math.max(...cpu.df.map(Math.abs))).toBeGreaterThan(0.05);
  });
});

// The SIMD kernel takes 2×2 windows of stride 2 that all lie inside the image, with a multiple of 4 channels;
// the JavaScript loop everything else.
test.each([
  { x: [2, 6, 8, 3] as Shape4, size: 2, strides: 2, pad: 'valid' as const, simd: false }, // 3 channels
  { x: [1, 7, 5, 2] as Shape4, size: 3, strides: 2, pad: 'same' as const, simd: false },
  { x: [2, 5, 5, 4] as Shape4, size: 3, strides: 1, pad: 'same' as const, simd: false },
  { x: [2, 6, 6, 4] as Shape4, size: 2, strides: 1, pad: 'valid' as const, simd: false }, // overlapping windows
  { x: [1, 7, 5, 4] as Shape4, size: 2, strides: 2, pad: 'same' as const, simd: false }, // the last windows hang over the edge
  { x: [2, 6, 8, 4] as Shape4, size: 2, strides: 2, pad: 'valid' as const, simd: true },
  { x: [2, 6, 8, 16] as Shape4, size: 2, strides: 2, pad: 'same' as const, simd: true }, // even sizes: 'same' is 'valid'
  { x: [3, 7, 9, 8] as Shape4, size: 2, strides: 2, pad: 'valid' as const, simd: true }, // the last row and column get no gradient
])('max-pool gradient on wasm matches cpu, ties and all-negative windows included: $x, $size×$size / $strides $pad', async ({ x, size, strides, pad, simd }) => {
  // Rounded values repeat (ties go to the first maximum) and most are ≤ 0, where wasm's own kernel lost them.
  const values = fill(x, 0.1).map((v) => Math.round(v * 3) / 3 - 0.4);
  const run = await onWasm(() => pathsDuring('MaxPoolGrad', () => maxPoolGrad(x, size, strides, pad, values)));
  expect({ fast: run.fast, fallback: run.fallback }).toEqual({ fast: simd ? 1 : 0, fallback: simd ? 0 : 1 });
  const cpu = await onCpu(() => maxPoolGrad(x, size, strides, pad, values));
  expectClose(run.result, cpu, 'max-pool gradient');
  expect(Math.max(...cpu)).toBeGreaterThan(1); // dy = 1, 2, 3, …: not vacuous
});

test.each([
  { x: [2, 6, 8, 4] as Shape4, size: 2, strides: 2, simd: true },
  { x: [2, 6, 8, 3] as Shape4, size: 2, strides: 2, simd: false },
  { x: [1, 5, 5, 4] as Shape4, size: 3, strides: 1, simd: false },
])('max-pool gradient on wasm matches cpu with NaN, −∞ and +∞ in the windows: $x, $size×$size / $strides', async ({ x, size, strides, simd }) => {
  // Whole windows of −∞ or NaN send their gradient nowhere; a NaN never wins; +∞ wins once.
  const special = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0];
  const values = fill(x, 0.2).map((v, i) => (i % 7 === 0 || i % 11 === 0 ? special[i % special.length]! : Math.round(v * 2) / 2));
  values.fill(Number.NEGATIVE_INFINITY, 0, 2 * x[2] * x[3]); // the first two rows of image 0
  values.fill(Number.NaN, x[1] * x[2] * x[3] - 2 * x[2] * x[3]); // the last two rows of the last image
  const run = await onWasm(() => pathsDuring('MaxPoolGrad', () => maxPoolGrad(x, size, strides, 'valid', values)));
  expect(run.fast).toBe(simd ? 1 : 0);
  const cpu = await onCpu(() => maxPoolGrad(x, size, strides, 'valid', values));
  expectClose(run.result, cpu, 'max-pool gradient');
  expect(cpu.some((v) => v === 0)).toBe(true);
});

/** Σ over `axis` (keepDims or not) of a fixed tensor on the current backend. */
function sumOf(shape: number[], axis: number | number[] | undefined, keepDims: boolean, dtype: 'float32' | 'int32'): { values: Float32Array | Int32Array; shape: number[] } {
  const data = fill(shape, 0.4).map((v) => (dtype === 'int32' ? Math.round(v * 50) : v * 1000 + 3));
  const x = tf.tensor(data, shape, dtype);
  const y = tf.sum(x, axis, keepDims);
  const out = { values: y.dataSync() as Float32Array | Int32Array, shape: y.shape };
  tf.dispose([x, y]);
  return out;
}

// Sums over the leading axes (the bias gradients) with a multiple of 4 values left per row take the
// columnSums kernel (float64 sums, as on cpu); everything else is wasm's own Sum.
test.each([
  { shape: [32, 16, 16, 8], axis: [0, 1, 2], keepDims: false, simd: true }, // a bias gradient
  { shape: [5, 3, 12], axis: [1, 0], keepDims: true, simd: true },
  { shape: [7, 4], axis: 0, keepDims: false, simd: true },
  { shape: [3, 5, 4, 2], axis: [0, 1], keepDims: false, simd: true }, // 8 values a row, over two axes
  { shape: [9, 20], axis: [0], keepDims: false, simd: true }, // 20 = 8 + 8 + 4 columns
  { shape: [6, 5, 3], axis: [0, 1], keepDims: false, simd: false }, // 3 values a row
  { shape: [6, 5, 4], axis: [1], keepDims: false, simd: false }, // not a leading axis
  { shape: [6, 5, 4], axis: [0, 2], keepDims: true, simd: false },
  { shape: [6, 8], axis: undefined, keepDims: false, simd: false }, // everything: one value a row
  { shape: [6, 8], axis: -1, keepDims: false, simd: false },
])('sum on wasm matches cpu: $shape over $axis (keepDims $keepDims)', async ({ shape, axis, keepDims, simd }) => {
  const run = await onWasm(() => pathsDuring('Sum', () => sumOf(shape, axis, keepDims, 'float32')));
  expect({ fast: run.fast, fallback: run.fallback }).toEqual({ fast: simd ? 1 : 0, fallback: simd ? 0 : 1 });
  const cpu = await onCpu(() => sumOf(shape, axis, keepDims, 'float32'));
  expect(run.result.shape).toEqual(cpu.shape);
  expectClose(run.result.values as Float32Array, cpu.values as Float32Array, 'sum');
});

test('int32 sums keep wasm\'s own kernel', async () => {
  const run = await onWasm(() => pathsDuring('Sum', () => sumOf([6, 8], [0], false, 'int32')));
  expect(run.fallback).toBe(1);
  const cpu = await onCpu(() => sumOf([6, 8], [0], false, 'int32'));
  expect(Array.from(run.result.values)).toEqual(Array.from(cpu.values));
});

/** equal(a, b) on the current backend, as numbers. */
function equalOf(a: { shape: number[]; values: number[] }, b: { shape: number[]; values: number[] }, dtype: 'float32' | 'int32' | 'bool'): { values: number[]; shape: number[] } {
  const ta = tf.tensor(a.values, a.shape, dtype);
  const tb = tf.tensor(b.values, b.shape, dtype);
  const y = tf.equal(ta, tb);
  const out = { values: Array.from(y.dataSync()), shape: y.shape };
  tf.dispose([ta, tb, y]);
  return out;
}

/** Small integers (so that broadcast values meet equal ones often), with NaN, −0 and 0 among them. */
function equalInput(shape: number[], phase: number, specials: boolean): { shape: number[]; values: number[] } {
  const values = Array.from(fill(shape, phase), (v, i) => (specials && i % 5 === 0 ? [Number.NaN, -0, 0][i % 3]! : Math.round(v * 2)));
  return { shape, values };
}

// Equal with broadcasting of two float32 or two int32 tensors runs as a JavaScript loop; same shapes and
// other dtypes keep wasm's own kernel.
test.each([
  { a: [4, 3, 3, 8], b: [4, 1, 1, 8], dtype: 'float32' as const, fast: true }, // the global-max-pooling gradient
  { a: [4, 1, 1, 8], b: [4, 3, 3, 8], dtype: 'float32' as const, fast: true },
  { a: [3, 1], b: [1, 4], dtype: 'float32' as const, fast: true }, // both broadcast, the last axis too
  { a: [2, 3, 4], b: [4], dtype: 'float32' as const, fast: true },
  { a: [5, 1], b: [2, 5, 3], dtype: 'int32' as const, fast: true },
  { a: [], b: [2, 3], dtype: 'float32' as const, fast: true },
  { a: [0, 3], b: [1, 3], dtype: 'float32' as const, fast: true }, // empty
  { a: [2, 3], b: [2, 3], dtype: 'float32' as const, fast: false },
  { a: [2, 3], b: [1, 3], dtype: 'bool' as const, fast: false },
])('equal on wasm matches cpu: $a vs $b, $dtype', async ({ a, b, dtype, fast }) => {
  const specials = dtype === 'float32';
  const ia = equalInput(a, 0.3, specials);
  const ib = equalInput(b, 0.3, specials);
  const inputs = dtype === 'bool' ? [{ ...ia, values: ia.values.map((v) => (v > 0 ? 1 : 0)) }, { ...ib, values: ib.values.map((v) => (v > 0 ? 1 : 0)) }] : [ia, ib];
  const run = await onWasm(() => pathsDuring('Equal', () => equalOf(inputs[0]!, inputs[1]!, dtype)));
  expect({ fast: run.fast, fallback: run.fallback }).toEqual({ fast: fast ? 1 : 0, fallback: fast ? 0 : 1 });
  const cpu = await onCpu(() => equalOf(inputs[0]!, inputs[1]!, dtype));
  expect(run.result).toEqual(cpu);
  if (cpu.values.length > 6) {
    // Not vacuous: both outcomes occur.
    expect(cpu.values).toContain(0);
    expect(cpu.values).toContain(1);
  }
});

/** The gradient tf.variableGrads returned for a layer weight (keyed by the variable's name). */
function gradientOf(grads: tf.NamedTensorMap, weight: tf.LayerVariable): tf.Tensor {
  const g = grads[weight.name] ?? grads[weight.originalName];
  if (!g) throw new Error(`no gradient for ${weight.name}`);
  return g;
}

/**
 * An EfficientNet-style network touching every op whose backward pass a CNN needs: strided conv2d without
 * bias, batch norm, swish, depthwise 3×3 and 5×5 (stride 2, 'valid', multiplier 2), squeeze-excitation
 * (global average pooling, 1×1 convolutions, sigmoid, multiply), residual add, zero padding, ReLU6,
 * average and max pooling, concatenation, a separable convolution, ELU, global max pooling, dropout, dense.
 */
function effnetStyleBlock(): tf.LayersModel {
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
  const apply = (layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(input) as tf.SymbolicTensor;
  const input = tf.input({ shape: [17, 15, 3] });
  const stem = apply(tf.layers.activation({ activation: 'swish' }), apply(tf.layers.batchNormalization({}), apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: seeded(1) }), input)));
  let y = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: seeded(2) }), stem);
  y = apply(tf.layers.activation({ activation: 'swish' }), apply(tf.layers.batchNormalization({}), y));
  let se = apply(tf.layers.reshape({ targetShape: [1, 1, 8] }), apply(tf.layers.globalAveragePooling2d({}), y));
  se = apply(tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'swish', kernelInitializer: seeded(3) }), se);
  se = apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'sigmoid', kernelInitializer: seeded(4) }), se);
  y = apply(tf.layers.multiply({}), [y, se]);
  y = apply(tf.layers.batchNormalization({}), apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, kernelInitializer: seeded(5) }), y));
  y = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [1, 0]] }), apply(tf.layers.add({}), [y, stem]));
  y = apply(tf.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, padding: 'valid', depthMultiplier: 2, depthwiseInitializer: seeded(6) }), y);
  y = apply(tf.layers.activation({ activation: 'relu6' }), y);
  y = apply(tf.layers.concatenate({}), [apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }), y), apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }), y)]);
  y = apply(tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', depthwiseInitializer: seeded(7), pointwiseInitializer: seeded(8) }), y);
  y = apply(tf.layers.dropout({ rate: 0 }), apply(tf.layers.globalMaxPooling2d({}), apply(tf.layers.activation({ activation: 'elu' }), y)));
  return tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: seeded(9) }), y) });
}

/** The loss gradient of every trainable weight of a freshly built effnetStyleBlock, in weight order. */
function blockGradients(): Float32Array[] {
  const model = effnetStyleBlock();
  const x = tf.tensor4d(fill([4, 17, 15, 3], 0.5), [4, 17, 15, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3));
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  const out = model.trainableWeights.map((w) => gradientOf(grads, w).dataSync() as Float32Array);
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

test('an EfficientNet-style block has all its weight gradients on wasm, equal to cpu\'s', async () => {
  const wasm = await onWasm(blockGradients);
  const cpu = await onCpu(blockGradients);
  expect(wasm).toHaveLength(21);
  cpu.forEach((g, i) => expectClose(wasm[i]!, g, `weight ${i}`));
}, 60_000);

test('the zoo\'s EfficientNet-B0 has all its weight gradients on wasm, equal to cpu\'s', async () => {
  // Batch norm in inference mode: in training mode, batch statistics of 2 images on 1×1 maps make these
  // gradients ill-conditioned (on cpu alone, a 1e-6 relative change of the input moved them by up to 7e-2 at 32×32).
  const gradients = (): Float32Array[] => {
    const model = modelSpec('efficientnet-b0').build({ inputShape: [16, 16, 3], classes: 2, seed: 3 });
    const x = tf.tensor4d(fill([2, 16, 16, 3], 0.9), [2, 16, 16, 3]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2));
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: false }) as tf.Tensor) as tf.Scalar);
    const out = model.trainableWeights.map((w) => gradientOf(grads, w).dataSync() as Float32Array);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    model.dispose();
    return out;
  };
  const wasm = await onWasm(gradients);
  const cpu = await onCpu(gradients);
  expect(wasm.length).toBeGreaterThan(200);
  cpu.forEach((g, i) => expectClose(wasm[i]!, g, `weight ${i}`));
}, 120_000);

test('Identity and same-dtype Cast share the data on wasm, which outlives the original; other casts and strings keep wasm\'s kernels', async () => {
  await tf.setBackend('wasm');
  const buffers = tf.backend().numDataIds();
  const x = tf.tensor2d([[1.5, -2], [0, 3]]);
  const clone = pathsDuring('Identity', () => tf.clone(x));
  const same = pathsDuring('Cast', () => tf.cast(x, 'float32'));
  const toInt = pathsDuring('Cast', () => tf.cast(x, 'int32'));
  expect([clone.fast, same.fast, toInt.fallback]).toEqual([1, 1, 1]);
  expect(tf.backend().numDataIds()).toBe(buffers + 2); // x (shared by the clone and the cast) and the int32 copy
  x.dispose();
  expect(Array.from(clone.result.dataSync())).toEqual([1.5, -2, 0, 3]);
  expect(Array.from(same.result.dataSync())).toEqual([1.5, -2, 0, 3]);
  expect(Array.from(toInt.result.dataSync())).toEqual([1, -2, 0, 3]);
  expect(clone.result.dtype).toBe('float32');
  expect(toInt.result.dtype).toBe('int32');
  tf.dispose([clone.result, same.result]);
  expect(tf.backend().numDataIds()).toBe(buffers + 1);
  toInt.result.dispose();
  expect(tf.backend().numDataIds()).toBe(buffers);
  const words = tf.tensor1d(['a', 'bc']);
  const copied = pathsDuring('Identity', () => tf.clone(words));
  expect(copied.fallback).toBe(1);
  expect(copied.result.dataSync()).toEqual(['a', 'bc']);
  tf.dispose([words, copied.result]);
});

test('small-cnn\'s weight gradients on wasm equal cpu\'s, with every fast path taken', async () => {
  const gradients = (): Float32Array[] => {
    const model = modelSpec('small-cnn').build({ inputShape: [20, 20, 1], classes: 2, seed: 5 });
    const x = tf.tensor4d(fill([4, 20, 20, 1], 0.6), [4, 20, 20, 1]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2));
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    const out = model.trainableWeights.map((w) => gradientOf(grads, w).dataSync() as Float32Array);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    model.dispose();
    return out;
  };
  const before = wasmKernelPaths();
  const wasm = await onWasm(gradients);
  const after = wasmKernelPaths();
  // conv1..3 filter gradients, pool1..2, the three bias gradients (the dense bias is 2 wide: wasm's Sum), the
  // global max pooling's Equal.
  expect(after.Conv2DBackpropFilter.fast - before.Conv2DBackpropFilter.fast).toBe(3);
  expect(after.MaxPoolGrad.fast - before.MaxPoolGrad.fast).toBe(2);
  expect(after.Sum.fast - before.Sum.fast).toBe(3);
  expect(after.Equal.fast - before.Equal.fast).toBe(1);
  const cpu = await onCpu(gradients);
  expect(wasm).toHaveLength(8);
  cpu.forEach((g, i) => expectClose(wasm[i]!, g, `weight ${i}`));
}, 60_000);

test('small-cnn trains on wasm: the loss falls on a separable toy set, and no tensor is left behind', async () => {
  await tf.setBackend('wasm');
  const size = 16;
  const n = 32;
  // Class 0 is bright on the left half, class 1 on the right half, both with noise from a fixed LCG.
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.6;
  const pixels = new Float32Array(n * size * size);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    labels.push(i % 2);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) pixels[(i * size + r) * size + c] = ((c < size / 2) === (i % 2 === 0) ? 1 : 0) + noise();
  }
  const tensorsBefore = tf.memory().numTensors;
  const buffersBefore = tf.backend().numDataIds();
  const model = modelSpec('small-cnn').build({ inputShape: [size, size, 1], classes: 2, seed: 7 });
  const optimizer = tf.train.sgd(0.1);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const xs = tf.tensor4d(pixels, [n, size, size, 1]);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 2));
  const history = await model.fit(xs, ys, { epochs: 30, batchSize: 16, shuffle: false, verbose: 0 });
  const losses = history.history.loss as number[];
  tf.dispose([xs, ys]);
  model.dispose();
  optimizer.dispose(); // the model does not own an optimizer it was handed
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(tf.backend().numDataIds()).toBe(buffersBefore);
}, 120_000);
