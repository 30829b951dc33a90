import type { WeightTensor } from '@fedledger/fl-core';
import { IncompatibleJobError } from '../trainer';
import { initTfjs, tf } from './backend';

/** A model the platform knows how to build: the same layers at every centre, so weights line up by name. */
export interface ModelArchitecture {
  name: string;
  /** Feature vector length and number of classes of the synthetic task. */
  inputSize: number;
  classes: number;
  build(): tf.LayersModel;
}

const denseTest: ModelArchitecture = {
  name: 'dense-test',
  inputSize: 8,
  classes: 2,
  build: () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ name: 'dense1', inputShape: [8], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ name: 'dense2', units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    }),
};

export const ARCHITECTURES: Record<string, ModelArchitecture> = { [denseTest.name]: denseTest };

export function architecture(name: string): ModelArchitecture {
  const a = ARCHITECTURES[name];
  if (!a) throw new IncompatibleJobError(`unknown model architecture '${name}' (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
  return a;
}

/** The architecture's weights as named tensors (its initialisation is seeded, so every run starts alike). */
export function modelWeights(model: tf.LayersModel): WeightTensor[] {
  return model.weights.map((w) => {
    const value = w.read();
    const data = new Float32Array(value.dataSync());
    return { name: w.originalName, shape: [...value.shape], data };
  });
}

export async function initialWeightsOf(name: string): Promise<WeightTensor[]> {
  await initTfjs();
  const model = architecture(name).build();
  try {
    return modelWeights(model);
  } finally {
    model.dispose();
  }
}
