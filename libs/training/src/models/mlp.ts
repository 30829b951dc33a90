import { IncompatibleJobError } from '../trainer';
import { tf } from '../tfjs/backend';
import { checkClasses } from './blocks';
import { registerModel, seededGlorot, type ModelBuildOptions, type ModelSpec } from './zoo';

const HIDDEN = [64, 32] as const;
const DROPOUT = 0.2;

/**
 * The tabular model: two hidden dense layers (64 and 32 units, ReLU), each followed by dropout 0.2, and a
 * dense softmax layer. The default input is 30 features, as in the Wisconsin Diagnostic Breast Cancer data
 * (4 130 parameters for two classes).
 */
export const mlp: ModelSpec = registerModel({
  name: 'mlp',
  description: 'multilayer perceptron for tabular data: dense 64 → dense 32 (ReLU, dropout 0.2) → softmax',
  input: 'tabular',
  defaultInputShape: [30],
  build({ inputShape, classes, seed }: ModelBuildOptions): tf.LayersModel {
    if (inputShape.length !== 1 || !Number.isInteger(inputShape[0]) || inputShape[0]! < 1) {
      throw new IncompatibleJobError(`mlp takes feature vectors of shape [features], not [${inputShape.join(', ')}]`);
    }
    checkClasses('mlp', classes);
    const hidden = HIDDEN.flatMap((units, i) => [
      tf.layers.dense({ name: `dense${i + 1}`, units, activation: 'relu', kernelInitializer: seededGlorot(seed, i + 1) }),
      tf.layers.dropout({ name: `dropout${i + 1}`, rate: DROPOUT, seed }),
    ]);
    return tf.sequential({
      name: 'mlp',
      layers: [
        tf.layers.inputLayer({ name: 'input', inputShape }),
        ...hidden,
        tf.layers.dense({ name: 'head', units: classes, activation: 'softmax', kernelInitializer: seededGlorot(seed, HIDDEN.length + 1) }),
      ],
    });
  },
});
