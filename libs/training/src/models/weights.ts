import type { WeightTensor } from '@fedledger/fl-core';
import { IncompatibleJobError } from '../trainer';
import { initTfjs, tf } from '../tfjs/backend';
import { modelSpec } from './zoo';

/** Classes of every model the platform trains today (benign / malignant). */
export const CLASSES = 2;

/** Builds a zoo model for an input shape (the model's default when absent), seeded: every centre starts alike. */
export function buildModel(name: string, inputShape?: readonly number[]): tf.LayersModel {
  const spec = modelSpec(name);
  return spec.build({ inputShape: [...(inputShape ?? spec.defaultInputShape)], classes: CLASSES, seed: 1 });
}

/** The model's weights as named tensors (copies). */
export function modelWeights(model: tf.LayersModel): WeightTensor[] {
  return model.weights.map((w) => {
    const value = w.read();
    return { name: w.originalName, shape: [...value.shape], data: new Float32Array(value.dataSync()) };
  });
}

/** Loads named weights into the model, refusing a tensor whose name or shape does not match. */
export function setModelWeights(model: tf.LayersModel, weights: readonly WeightTensor[]): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  if (weights.length !== model.weights.length) throw new IncompatibleJobError(`the weights have ${weights.length} tensors, model ${model.name} has ${model.weights.length}`);
  const values = model.weights.map((w) => {
    const t = byName.get(w.originalName);
    if (!t) throw new IncompatibleJobError(`the weights have no tensor ${w.originalName} (have: ${[...byName.keys()].slice(0, 8).join(', ')}${byName.size > 8 ? ', …' : ''})`);
    if (t.shape.length !== w.shape.length || t.shape.some((d, i) => d !== w.shape[i])) {
      throw new IncompatibleJobError(`tensor ${t.name} has shape [${t.shape.join(',')}], model ${model.name} expects [${w.shape.join(',')}]`);
    }
    return tf.tensor(t.data, [...t.shape], 'float32');
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** A model's initial weights (seeded), e.g. to start an experiment from. */
export async function initialWeightsOf(name: string, inputShape?: readonly number[]): Promise<WeightTensor[]> {
  await initTfjs();
  const model = buildModel(name, inputShape);
  try {
    return modelWeights(model);
  } finally {
    model.dispose();
  }
}
