import { tf } from '../tfjs/backend';
import { registerModel, seededGlorot, type ModelBuildOptions } from './zoo';

/** A two-layer perceptron for protocol tests and the synthetic task (8 features, 2 classes by default). */
export const denseTest = registerModel({
  name: 'dense-test',
  description: 'two dense layers (16 ReLU units, softmax), for protocol tests on synthetic data',
  input: 'tabular',
  defaultInputShape: [8],
  build: ({ inputShape, classes, seed }: ModelBuildOptions): tf.LayersModel =>
    tf.sequential({
      name: 'dense_test',
      layers: [
        tf.layers.dense({ name: 'dense1', inputShape, units: 16, activation: 'relu', kernelInitializer: seededGlorot(seed, 1) }),
        tf.layers.dense({ name: 'dense2', units: classes, activation: 'softmax', kernelInitializer: seededGlorot(seed, 2) }),
      ],
    }),
});
