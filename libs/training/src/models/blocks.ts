import { IncompatibleJobError } from '../trainer';
import { tf } from '../tfjs/backend';
import { registerModel, seededGlorot, type ModelBuildOptions, type ModelSpec } from './zoo';

/**
 * Building blocks shared by the functional (tf.model) image networks of the zoo: ResNet, DenseNet and
 * EfficientNet.
 *
 * Layer names follow the torchvision module paths (`layer1.0.conv1`, `features.denseblock1.denselayer1.norm1`,
 * `features.1.0.block.2.fc1`, ...) so a torchvision state_dict maps onto the tfjs weights by name; layers
 * torchvision has no module for (padding, additions, concatenations) get a name derived from their block.
 * Every name is explicit: tfjs would otherwise number layers with process-global counters.
 *
 * Padding copies PyTorch's symmetric `padding = kernel // 2`: a strided convolution or pooling is preceded by a
 * ZeroPadding2D layer and run 'valid' (tfjs 'same' pads one more pixel at the bottom/right than at the top/left
 * for stride 2); a stride-1 convolution uses 'same', which is then symmetric.
 */
export type Tensor = tf.SymbolicTensor;
export type Activation = 'relu' | 'swish' | 'sigmoid';

/** PyTorch's BatchNorm2d defaults: eps 1e-5, running stats updated with weight 0.1 (Keras momentum 0.9). */
const BATCH_NORM = { axis: -1, epsilon: 1e-5, momentum: 0.9 } as const;

export interface ConvOptions {
  filters: number;
  kernel: number;
  stride?: number;
  /** A bias vector (torchvision convolutions have none when a BatchNorm follows). */
  bias?: boolean;
  /** Applied inside the convolution layer (used where no BatchNorm follows). */
  activation?: Activation;
}

/**
 * Builds one model's layers in a fixed order. Each convolution or dense layer takes the next seeded Glorot
 * initialiser (offset 1, 2, 3, ... in build order), so two builds with the same seed have identical weights.
 * Glorot rather than torchvision's Kaiming: every convolution here is followed by BatchNorm (or, in the
 * squeeze-and-excitation branch, by a sigmoid gate), which makes the initial scale matter little.
 */
export class GraphBuilder {
  private offset = 0;

  constructor(private readonly seed: number | undefined) {}

  /** The next seeded initialiser. */
  init(): ReturnType<typeof seededGlorot> {
    this.offset += 1;
    return seededGlorot(this.seed, this.offset);
  }

  /** Applies a layer that has one input and one output. */
  apply(layer: tf.layers.Layer, x: Tensor | Tensor[]): Tensor {
    return layer.apply(x) as Tensor;
  }

  /** A convolution with PyTorch's symmetric padding, kernel // 2 on each side. */
  conv(x: Tensor, name: string, { filters, kernel, stride = 1, bias = false, activation }: ConvOptions): Tensor {
    const input = this.padForStride(x, name, kernel, stride);
    const layer = tf.layers.conv2d({
      name,
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: input === x ? 'same' : 'valid',
      useBias: bias,
      activation,
      kernelInitializer: this.init(),
    });
    return this.apply(layer, input);
  }

  /** A depthwise convolution (torchvision: Conv2d with groups = channels), no bias. */
  depthwiseConv(x: Tensor, name: string, kernel: number, stride: number): Tensor {
    const input = this.padForStride(x, name, kernel, stride);
    const layer = tf.layers.depthwiseConv2d({
      name,
      kernelSize: kernel,
      strides: stride,
      padding: input === x ? 'same' : 'valid',
      useBias: false,
      depthwiseInitializer: this.init(),
    });
    return this.apply(layer, input);
  }

  batchNorm(x: Tensor, name: string): Tensor {
    return this.apply(tf.layers.batchNormalization({ name, ...BATCH_NORM }), x);
  }

  activation(x: Tensor, name: string, activation: Activation): Tensor {
    return this.apply(tf.layers.activation({ name, activation }), x);
  }

  /** Convolution (no bias), BatchNorm, then the activation if one is given: torchvision's Conv2dNormActivation. */
  convBn(x: Tensor, names: { conv: string; bn: string; act?: string }, conv: ConvOptions, activation?: Activation): Tensor {
    const y = this.batchNorm(this.conv(x, names.conv, conv), names.bn);
    return activation && names.act ? this.activation(y, names.act, activation) : y;
  }

  /** The 3×3, stride-2, padding-1 max pooling of the ResNet and DenseNet stems (it follows a ReLU, so zero padding is as good as −∞). */
  stemMaxPool(x: Tensor, name: string): Tensor {
    const padded = this.apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding: 1 }), x);
    return this.apply(tf.layers.maxPooling2d({ name, poolSize: 3, strides: 2, padding: 'valid' }), padded);
  }

  add(xs: Tensor[], name: string): Tensor {
    return this.apply(tf.layers.add({ name }), xs);
  }

  /**
   * The classification head: global average pooling, optional dropout, a dense softmax layer with
   * `classes` units. The dense layer is the model's last layer (the tests count the backbone without it).
   */
  head(x: Tensor, classes: number, names: { pool: string; dropout?: string; dense: string }, dropout = 0): Tensor {
    let y = this.apply(tf.layers.globalAveragePooling2d({ name: names.pool }), x);
    if (dropout > 0 && names.dropout) y = this.apply(tf.layers.dropout({ name: names.dropout, rate: dropout, seed: this.seed }), y);
    return this.apply(tf.layers.dense({ name: names.dense, units: classes, activation: 'softmax', kernelInitializer: this.init() }), y);
  }

  private padForStride(x: Tensor, name: string, kernel: number, stride: number): Tensor {
    if (stride === 1 || kernel === 1) return x;
    return this.apply(tf.layers.zeroPadding2d({ name: `${name}.pad`, padding: Math.floor(kernel / 2) }), x);
  }
}

/**
 * Registers a functional image model: default input [224, 224, 1] (grayscale mammograms), any
 * [height, width, channels] accepted. `body` gets the builder and the input layer and returns the softmax
 * output; the shape and class count are checked first.
 */
export function registerImageModel(name: string, description: string, body: (g: GraphBuilder, input: Tensor, options: ModelBuildOptions) => Tensor): ModelSpec {
  return registerModel({
    name,
    description,
    input: 'image',
    defaultInputShape: [224, 224, 1],
    build(options: ModelBuildOptions): tf.LayersModel {
      const { inputShape, classes, seed } = options;
      if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new IncompatibleJobError(`${name} takes images of shape [height, width, channels], not [${inputShape.join(', ')}]`);
      }
      checkClasses(name, classes);
      const input = tf.input({ name: 'input', shape: inputShape });
      const output = body(new GraphBuilder(seed), input, options);
      return tf.model({ name: name.replace(/-/g, '_'), inputs: input, outputs: output });
    },
  });
}

/** Checks the classifier has at least two outputs (softmax over one class is constant). */
export function checkClasses(model: string, classes: number): void {
  if (!Number.isInteger(classes) || classes < 2) throw new IncompatibleJobError(`${model} needs at least 2 classes, not ${classes}`);
}
