import { tf } from '../tfjs/backend';
import { registerModel, seededGlorot, type ModelBuildOptions } from './zoo';

/**
 * The default image model: three 3×3 convolutions (16, 32, 64 filters, ReLU, 'same' padding) with
 * 2×2 max pooling after the first two, global average pooling and a softmax layer. 23 426 parameters
 * for one input channel and two classes; trains quickly on a CPU.
 */
export const smallCnn = registerModel({
  name: 'small-cnn',
  description: 'three-convolution CNN, ~23 k parameters, the fast CPU default',
  input: 'image',
  defaultInputShape: [64, 64, 1],
  build({ inputShape, classes, seed }: ModelBuildOptions): tf.LayersModel {
    const conv = (filters: number, i: number) =>
      tf.layers.conv2d({ name: `conv${i}`, filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: seededGlorot(seed, i) });
    return tf.sequential({
      name: 'small_cnn',
      layers: [
        tf.layers.inputLayer({ inputShape }),
        conv(16, 1),
        tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
        conv(32, 2),
        tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
        conv(64, 3),
        tf.layers.globalAveragePooling2d({ name: 'gap' }),
        tf.layers.dense({ name: 'head', units: classes, activation: 'softmax', kernelInitializer: seededGlorot(seed, 4) }),
      ],
    });
  },
});
