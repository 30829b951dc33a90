import { initTfjs, tf } from '../src/tfjs/backend';
import { registerWasmGradients, WASM_GRADIENT_KERNELS } from '../src/tfjs/wasm-gradients';
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

test('initTfjs registers every gradient kernel for wasm, and registering again changes nothing', () => {
  const before = WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
  expect(before.every((f) => typeof f === 'function')).toBe(true);
  const warn = jest.spyOn(console, 'warn');
  registerWasmGradients();
  expect(warn).not.toHaveBeenCalled();
  warn.mockRestore();
  expect(WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc)).toEqual(before);
});

const convCases: { x: Shape4; f: Shape4 }[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4] }, // non-square input, several channels and images
  { x: [1, 6, 6, 1], f: [3, 3, 1, 2] },
  { x: [3, 8, 5, 2], f: [2, 3, 2, 5] }, // even, non-square kernel
  { x: [2, 5, 6, 2], f: [1, 1, 2, 3] }, // 1×1: stride 2 skips rows and columns entirely
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
    const wasm = await onWasm(() => convGrads(op, x, f, strides, pad));
    const cpu = await onCpu(() => convGrads(op, x, f, strides, pad));
    expectClose(wasm.dx, cpu.dx, 'input gradient');
    expectClose(wasm.df, cpu.df, 'filter gradient');
    // Not vacuous: both gradients carry signal well above the tolerance.
    expect(Math.max(...cpu.dx.map(Math.abs))).toBeGreaterThan(0.05);
    expect(Math.max(...cpu.df.map(Math.abs))).toBeGreaterThan(0.05);
  });
});

test.each([
  { x: [2, 6, 8, 3] as Shape4, size: 2, strides: 2, pad: 'valid' as const },
  { x: [1, 7, 5, 2] as Shape4, size: 3, strides: 2, pad: 'same' as const },
  { x: [2, 5, 5, 4] as Shape4, size: 3, strides: 1, pad: 'same' as const },
])('max-pool gradient on wasm matches cpu, ties and all-negative windows included: $x, $size×$size / $strides $pad', async ({ x, size, strides, pad }) => {
  // Rounded values repeat (ties go to the first maximum) and most are ≤ 0, where wasm's own kernel lost them.
  const values = fill(x, 0.1).map((v) => Math.round(v * 3) / 3 - 0.4);
  const wasm = await onWasm(() => maxPoolGrad(x, size, strides, pad, values));
  const cpu = await onCpu(() => maxPoolGrad(x, size, strides, pad, values));
  expectClose(wasm, cpu, 'max-pool gradient');
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
