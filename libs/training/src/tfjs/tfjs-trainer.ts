import type { WeightTensor } from '@fedledger/fl-core';
import { IncompatibleJobError, type EvaluationJob, type EvaluationResult, type Trainer, type TrainingJob, type TrainingResult } from '../trainer';
import { architecture, modelWeights } from './architectures';
import { initTfjs, tf } from './backend';
import { syntheticDataset } from './synthetic-data';

/**
 * Trains a registered architecture with TensorFlow.js on the centre's data: mini-batch SGD for the
 * job's epochs from the global weights, with FedProx's proximal term mu/2·||w − w_global||² when mu > 0.
 * Data here is synthetic (per-centre shifted); the DICOM/PNG/CSV pipeline plugs in as another source.
 */
export class TfjsTrainer implements Trainer {
  readonly name = 'tfjs';

  constructor(private readonly examplesPerCentre = 512) {}

  async train(job: TrainingJob, signal?: AbortSignal): Promise<TrainingResult> {
    await initTfjs();
    const arch = architecture(job.modelArchitecture);
    const model = arch.build();
    const { x, y } = syntheticDataset(job.centreId, arch.inputSize, arch.classes, this.examplesPerCentre);
    const globals: tf.Tensor[] = [];
    try {
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      setWeights(model, job.weights);
      for (const v of model.trainableWeights) globals.push(tf.keep(v.read().clone()));
      const optimizer = tf.train.sgd(job.learningRate);
      const n = this.examplesPerCentre;
      for (let epoch = 0; epoch < job.epochs; epoch++) {
        for (let start = 0; start < n; start += job.batchSize) {
          signal?.throwIfAborted();
          const size = Math.min(job.batchSize, n - start);
          optimizer.minimize(() =>
            tf.tidy(() => {
              const xb = x.slice([start, 0], [size, arch.inputSize]);
              const yb = y.slice([start, 0], [size, arch.classes]);
              const pred = model.apply(xb) as tf.Tensor;
              let loss = tf.losses.softmaxCrossEntropy(yb, pred) as tf.Scalar;
              if (job.proximalMu > 0) {
                const prox = variables.map((v, i) => tf.sum(tf.square(tf.sub(v, globals[i]!))));
                loss = tf.add(loss, tf.mul(job.proximalMu / 2, tf.addN(prox))) as tf.Scalar;
              }
              return loss;
            }),
          );
        }
        await tf.nextFrame();
      }
      optimizer.dispose();
      return { weights: modelWeights(model), numExamples: n, metrics: lossAndAccuracy(model, x, y) };
    } finally {
      tf.dispose(globals);
      x.dispose();
      y.dispose();
      model.dispose();
    }
  }

  /** The global model on the centre's held-out examples (drawn apart from its training ones). */
  async evaluate(job: EvaluationJob, signal?: AbortSignal): Promise<EvaluationResult> {
    await initTfjs();
    signal?.throwIfAborted();
    const arch = architecture(job.modelArchitecture);
    const model = arch.build();
    const n = Math.max(1, Math.floor(this.examplesPerCentre / 4));
    const { x, y } = syntheticDataset(`${job.centreId}/held-out`, arch.inputSize, arch.classes, n);
    try {
      setWeights(model, job.weights);
      return { numExamples: n, metrics: lossAndAccuracy(model, x, y) };
    } finally {
      x.dispose();
      y.dispose();
      model.dispose();
    }
  }
}

function lossAndAccuracy(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const pred = model.apply(x) as tf.Tensor;
    const loss = tf.losses.softmaxCrossEntropy(y, pred).dataSync()[0]!;
    const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(pred, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]!;
    return { loss, accuracy };
  });
}

/** Loads named weights into the model, refusing a tensor whose name or shape does not match. */
function setWeights(model: tf.LayersModel, weights: readonly WeightTensor[]): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const values = model.weights.map((w) => {
    const t = byName.get(w.originalName);
    if (!t) throw new IncompatibleJobError(`global weights have no tensor ${w.originalName} (have: ${[...byName.keys()].join(', ')})`);
    if (t.shape.length !== w.shape.length || t.shape.some((d, i) => d !== w.shape[i])) {
      throw new IncompatibleJobError(`global tensor ${t.name} has shape [${t.shape.join(',')}], the model expects [${w.shape.join(',')}]`);
    }
    return tf.tensor(t.data, [...t.shape], 'float32');
  });
  if (weights.length !== model.weights.length) throw new IncompatibleJobError(`global weights have ${weights.length} tensors, the model has ${model.weights.length}`);
  model.setWeights(values);
  tf.dispose(values);
}
