import { registerImageModel, type GraphBuilder, type Tensor } from './blocks';
import type { ModelSpec } from './zoo';

/**
 * ResNet18 and ResNet50 as torchvision builds them (He et al. 2015; torchvision.models.resnet):
 * a 7×7 stride-2 convolution, BatchNorm, ReLU and 3×3 stride-2 max pooling, four stages of residual blocks
 * (64, 128, 256, 512 base channels; the first block of stages 2–4 halves the resolution and its shortcut is a
 * 1×1 stride-2 convolution + BatchNorm), global average pooling and a dense softmax layer ('fc').
 * ResNet18 uses basic blocks (two 3×3 convolutions), ResNet50 bottleneck blocks (1×1, 3×3, 1×1 with 4× expansion)
 * with the stride on the 3×3 convolution ("v1.5", as torchvision).
 */

type BlockKind = 'basic' | 'bottleneck';

/** A residual block; `name` is the torchvision module path, e.g. 'layer2.0'. */
function residualBlock(g: GraphBuilder, x: Tensor, name: string, kind: BlockKind, width: number, stride: number, downsample: boolean): Tensor {
  const n = (part: string) => `${name}.${part}`;
  let y: Tensor;
  let out: number;
  if (kind === 'basic') {
    out = width;
    y = g.convBn(x, { conv: n('conv1'), bn: n('bn1'), act: n('relu1') }, { filters: width, kernel: 3, stride }, 'relu');
    y = g.convBn(y, { conv: n('conv2'), bn: n('bn2') }, { filters: width, kernel: 3 });
  } else {
    out = width * 4;
    y = g.convBn(x, { conv: n('conv1'), bn: n('bn1'), act: n('relu1') }, { filters: width, kernel: 1 }, 'relu');
    y = g.convBn(y, { conv: n('conv2'), bn: n('bn2'), act: n('relu2') }, { filters: width, kernel: 3, stride }, 'relu');
    y = g.convBn(y, { conv: n('conv3'), bn: n('bn3') }, { filters: out, kernel: 1 });
  }
  const shortcut = downsample ? g.convBn(x, { conv: n('downsample.0'), bn: n('downsample.1') }, { filters: out, kernel: 1, stride }) : x;
  return g.activation(g.add([y, shortcut], n('add')), n('relu'), 'relu');
}

/** The network from the input layer to the softmax output. */
function resnet(g: GraphBuilder, input: Tensor, classes: number, kind: BlockKind, blocks: readonly number[]): Tensor {
  let x = g.convBn(input, { conv: 'conv1', bn: 'bn1', act: 'relu' }, { filters: 64, kernel: 7, stride: 2 }, 'relu');
  x = g.stemMaxPool(x, 'maxpool');
  let channels = 64;
  blocks.forEach((count, stage) => {
    const width = 64 * 2 ** stage;
    const out = kind === 'basic' ? width : width * 4;
    for (let i = 0; i < count; i += 1) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      x = residualBlock(g, x, `layer${stage + 1}.${i}`, kind, width, stride, i === 0 && (stride !== 1 || channels !== out));
      channels = out;
    }
  });
  return g.head(x, classes, { pool: 'avgpool', dense: 'fc' });
}

export const resnet18: ModelSpec = registerImageModel(
  'resnet18',
  'ResNet18 (torchvision layout, basic blocks 2-2-2-2), 11.2 M backbone parameters for RGB',
  (g, input, { classes }) => resnet(g, input, classes, 'basic', [2, 2, 2, 2]),
);

export const resnet50: ModelSpec = registerImageModel(
  'resnet50',
  'ResNet50 v1.5 (torchvision layout, bottleneck blocks 3-4-6-3), 23.5 M backbone parameters for RGB',
  (g, input, { classes }) => resnet(g, input, classes, 'bottleneck', [3, 4, 6, 3]),
);
