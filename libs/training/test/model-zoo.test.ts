import { initTfjs, tf } from '../src/tfjs/backend';
import { modelNames, modelSpec } from '../src/models';

/**
 * Trainable parameters of torchvision's ImageNet models without their final classifier. The totals are
 * torchvision's `sum(p.numel() for p in model.parameters())`, recorded as `num_params` in the weights
 * metadata of torchvision/models/{resnet,densenet,efficientnet}.py (ResNet18_Weights, ResNet50_Weights,
 * DenseNet121_Weights, EfficientNet_B0_Weights); the classifier is a Linear(features, 1000):
 * features·1000 + 1000 parameters. BatchNorm running mean/variance are buffers in torch, not parameters,
 * as they are non-trainable weights in tfjs, so the trainable counts compare like for like.
 */
const TORCHVISION_BACKBONE: Record<string, { total: number; features: number }> = {
  resnet18: { total: 11_689_512, features: 512 }, // fc 513 000 → backbone 11 176 512
  resnet50: { total: 25_557_032, features: 2048 }, // fc 2 049 000 → backbone 23 508 032
  densenet121: { total: 7_978_856, features: 1024 }, // classifier 1 025 000 → backbone 6 953 856
  'efficientnet-b0': { total: 5_288_548, features: 1280 }, // classifier.1 1 281 000 → backbone 4 007 548
};
const IMAGE_MODELS = Object.keys(TORCHVISION_BACKBONE);
/** A small input every model accepts (DenseNet needs ≥ 29 pixels), with each model's own input kind. */
const SMALL: Record<string, number[]> = { mlp: [30], ...Object.fromEntries(IMAGE_MODELS.map((m) => [m, [64, 64, 1]])) };
const ALL_MODELS = Object.keys(SMALL);
const CLASSES = 3;

/** Elements of a weight (its shape is fully known; a null dimension would give NaN and fail the test). */
const size = (shape: readonly (number | null)[]) => shape.reduce<number>((a, d) => a * (d ?? Number.NaN), 1);
const trainableCount = (layers: readonly tf.layers.Layer[]) =>
  layers.reduce((s, l) => s + l.trainableWeights.reduce((u, w) => u + size(w.shape), 0), 0);

/** Builds a model, hands it to `use`, and disposes of it whatever happens. */
async function withModel<T>(name: string, inputShape: number[], use: (m: tf.LayersModel) => T | Promise<T>, seed = 7): Promise<T> {
  const model = modelSpec(name).build({ inputShape, classes: CLASSES, seed });
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Every weight of the model by its (federated) name, as raw bytes. */
const weightBytes = (model: tf.LayersModel) =>
  model.weights.map((w) => ({ name: w.originalName, shape: w.shape, bytes: bytesOf(w.read().dataSync()) }));

beforeAll(async () => {
  await initTfjs();
});

test('the zoo registers every model with its input kind and default shape', () => {
  expect(modelNames()).toEqual(expect.arrayContaining(['small-cnn', ...ALL_MODELS]));
  for (const name of IMAGE_MODELS) {
    expect(modelSpec(name)).toMatchObject({ input: 'image', defaultInputShape: [224, 224, 1] });
  }
  expect(modelSpec('mlp')).toMatchObject({ input: 'tabular', defaultInputShape: [30] });
});

test.each(IMAGE_MODELS)('%s: the backbone has within 5 %% of the parameters of torchvision’s (RGB input)', async (name) => {
  const { total, features } = TORCHVISION_BACKBONE[name]!;
  const torchvision = total - (features * 1000 + 1000);
  await withModel(name, [224, 224, 3], (model) => {
    const head = model.layers[model.layers.length - 1]!;
    expect(head.getClassName()).toBe('Dense');
    // the classifier is Linear(features, classes), as in torchvision
    expect(trainableCount([head])).toBe(features * CLASSES + CLASSES);
    const backbone = trainableCount(model.layers.slice(0, -1));
    expect(Math.abs(backbone - torchvision) / torchvision).toBeLessThan(0.05);
  });
});

test.each(IMAGE_MODELS)('%s builds at the default grayscale 224×224 input', async (name) => {
  const spec = modelSpec(name);
  await withModel(name, spec.defaultInputShape, (model) => {
    expect(model.inputs[0]!.shape).toEqual([null, 224, 224, 1]);
    expect(model.outputs[0]!.shape).toEqual([null, CLASSES]);
  });
});

test.each(ALL_MODELS)('%s: two builds with one seed have the same weight names and values; another seed differs', async (name) => {
  const a = await withModel(name, SMALL[name]!, weightBytes);
  const b = await withModel(name, SMALL[name]!, weightBytes);
  const c = await withModel(name, SMALL[name]!, weightBytes, 8);
  expect(b.map((w) => [w.name, w.shape])).toEqual(a.map((w) => [w.name, w.shape]));
  const differing = a.filter((w, i) => !w.bytes.equals(b[i]!.bytes)).map((w) => w.name);
  expect(differing).toEqual([]);
  // the seed reaches every kernel: another seed changes each of them (biases, BN and moving stats start constant)
  const kernels = a.flatMap((w, i) => (/\/(kernel|depthwise_kernel)$/.test(w.name) ? [[w, c[i]!] as const] : []));
  expect(kernels.length).toBeGreaterThan(0);
  expect(kernels.filter(([x, y]) => x.bytes.equals(y.bytes)).map(([x]) => x.name)).toEqual([]);
});

test.each(ALL_MODELS)('%s: weight names are unique and explicit (no tfjs auto-numbered layers)', async (name) => {
  await withModel(name, SMALL[name]!, (model) => {
    const names = model.weights.map((w) => w.originalName);
    expect(new Set(names).size).toBe(names.length);
    // tfjs auto-names layers after their class with a process-wide counter: conv2d_3, batch_normalization_12, ...
    const auto = /^(conv2d|depthwise_conv2d|batch_normalization|dense|dropout|activation|add|multiply|concatenate|reshape|zero_padding2d|max_pooling2d|average_pooling2d|global_average_pooling2d|input)_\d+$/;
    expect(model.layers.map((l) => l.name).filter((n) => auto.test(n))).toEqual([]);
  });
});

test.each(ALL_MODELS)('%s: a forward pass gives one probability distribution over the classes per example', async (name) => {
  await withModel(name, SMALL[name]!, (model) => {
    const before = tf.memory().numTensors;
    const probabilities = tf.tidy(() => {
      const x = tf.randomUniform([2, ...SMALL[name]!], 0, 1, 'float32', 3);
      return (model.predict(x) as tf.Tensor).arraySync() as number[][];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(probabilities).toHaveLength(2);
    for (const row of probabilities) {
      expect(row).toHaveLength(CLASSES);
      expect(row.every((p) => p >= 0 && p <= 1)).toBe(true);
      expect(row.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    }
  });
});

/**
 * One SGD step on the backend initTfjs() chose, the one centres train on (here wasm, whose missing
 * convolution gradient kernels initTfjs registers). The plain-JS cpu backend would do too but its
 * Conv2DBackpropFilter takes ~12 s a step for ResNet18 even at 32×32.
 */
test.each(ALL_MODELS)('%s: a training step updates the weights with finite values', async (name) => {
  const shape = SMALL[name]!.length === 3 ? [32, 32, 1] : SMALL[name]!;
  await withModel(name, shape, async (model) => {
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([2, ...shape], 0, 1, 'float32', 4);
    const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), CLASSES);
    const before = weightBytes(model);
    try {
      const loss = (await model.trainOnBatch(x, y)) as number;
      expect(Number.isFinite(loss)).toBe(true);
      const after = model.weights.map((w) => w.read().dataSync());
      expect(after.every((values) => values.every(Number.isFinite))).toBe(true);
      // the gradient reaches the first layer and the classifier alike
      const changed = before.filter((w, i) => !w.bytes.equals(bytesOf(after[i]!))).map((w) => w.name);
      expect(changed).toContain(before[0]!.name);
      expect(changed).toContain(before[before.length - 2]!.name);
    } finally {
      tf.dispose([x, y]);
      model.optimizer.dispose();
    }
  });
});

test.each(ALL_MODELS)('%s saves in tfjs layers format and loads back with the same weights', async (name) => {
  await withModel(name, SMALL[name]!, async (model) => {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    );
    expect(artifacts?.weightSpecs?.map((s) => s.name)).toEqual(model.weights.map((w) => w.originalName));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    try {
      const original = weightBytes(model);
      const reloaded = weightBytes(loaded);
      expect(reloaded.map((w) => [w.name, w.shape])).toEqual(original.map((w) => [w.name, w.shape]));
      expect(reloaded.filter((w, i) => !w.bytes.equals(original[i]!.bytes)).map((w) => w.name)).toEqual([]);
      expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    } finally {
      loaded.dispose();
    }
  });
});

test.each(ALL_MODELS)('%s leaves no tensors behind once disposed', (name) => {
  const before = tf.memory().numTensors;
  const model = modelSpec(name).build({ inputShape: SMALL[name]!, classes: CLASSES, seed: 1 });
  expect(tf.memory().numTensors).toBeGreaterThan(before);
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('shapes the models cannot take are refused with a clear message', () => {
  const build = (name: string, inputShape: number[], classes = CLASSES) => () => modelSpec(name).build({ inputShape, classes });
  expect(build('resnet18', [64, 64])).toThrow('resnet18 takes images of shape [height, width, channels], not [64, 64]');
  expect(build('densenet121', [16, 16, 1])).toThrow('densenet121 needs images of at least 29×29 pixels');
  expect(build('efficientnet-b0', [64, 64, 1], 1)).toThrow('efficientnet-b0 needs at least 2 classes, not 1');
  expect(build('mlp', [4, 4])).toThrow('mlp takes feature vectors of shape [features], not [4, 4]');
});

test('the MLP is 30 → 64 → 32 → classes with dropout after each hidden layer', async () => {
  await withModel('mlp', [30], (model) => {
    expect(model.layers.map((l) => [l.name, l.getClassName()])).toEqual([
      ['input', 'InputLayer'],
      ['dense1', 'Dense'],
      ['dropout1', 'Dropout'],
      ['dense2', 'Dense'],
      ['dropout2', 'Dropout'],
      ['head', 'Dense'],
    ]);
    expect(model.countParams()).toBe(30 * 64 + 64 + 64 * 32 + 32 + 32 * CLASSES + CLASSES);
  });
});
