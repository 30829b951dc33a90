import { prepareCentreData, type PreparedDataset, type PreparedSplit } from '../centre/prepared';
import type { DataIssue, OnDataError } from '../data';
import { buildModel, CLASSES, modelWeights, setModelWeights } from '../models';
import { augmentBatch, binaryMetrics, createRandomSource, deriveSeed, shuffleInPlace } from '../preprocess';
import { IncompatibleJobError, type EvaluationJob, type EvaluationResult, type ProgressListener, type Trainer, type TrainingJob, type TrainingResult } from '../trainer';
import { initTfjs, tf } from './backend';
import { syntheticSplit } from './synthetic-data';

export interface TfjsTrainerOptions {
  /** The centre's data folder (labels.csv + images, or data.csv). Without it jobs with a data spec are refused. */
  dataDir?: string;
  /** Malformed rows and unreadable files: leave them out and report them (`skip`), or refuse the job (`fail`). */
  onDataError?: OnDataError;
  /** Examples of the synthetic dataset used by jobs without a data spec. */
  syntheticExamples?: number;
  log?: (line: string) => void;
}

/** Examples per forward pass when evaluating (bounds memory, not results). */
const EVAL_BATCH = 256;

/**
 * Trains a zoo model with TensorFlow.js on the centre's own data: the experiment's DataPreparation turns the
 * folder into patient-level train / validation / test splits (prepared once, kept between rounds), then
 * mini-batch SGD or Adam for the job's epochs from the global weights, shuffled and augmented per epoch
 * (seeded by round and epoch), with FedProx's proximal term mu/2·||w − w_global||² when mu > 0. Jobs
 * without a data spec train on synthetic per-centre data (protocol tests).
 */
export class TfjsTrainer implements Trainer {
  readonly name = 'tfjs';
  private readonly prepared = new Map<string, Promise<PreparedDataset>>();

  constructor(private readonly options: TfjsTrainerOptions = {}) {}

  async train(job: TrainingJob, signal?: AbortSignal, progress?: ProgressListener): Promise<TrainingResult> {
    await initTfjs();
    const data = await this.dataFor(job, progress);
    const split = data.train;
    if (split.n === 0) throw new IncompatibleJobError(`centre ${job.centreId} has no training examples after the split`);
    const model = buildModel(job.modelArchitecture, data.inputShape);
    try {
      setModelWeights(model, job.weights);
      const options = { ...job, augment: job.data?.augment === true, seed: deriveSeed(job.data?.splitSeed ?? 1, job.centreId, job.round) };
      const loss = await fit(model, split, data, options, signal, progress);
      return { weights: modelWeights(model), numExamples: split.n, metrics: { loss, epochs: job.epochs } };
    } finally {
      model.dispose();
    }
  }

  /** The global model on the centre's validation patients (or its held-out test patients). */
  async evaluate(job: EvaluationJob, signal?: AbortSignal, progress?: ProgressListener): Promise<EvaluationResult> {
    await initTfjs();
    const data = await this.dataFor(job, progress);
    const split = job.split === 'test' ? data.test : data.validation;
    if (split.n === 0) throw new IncompatibleJobError(`centre ${job.centreId} has no ${job.split ?? 'validation'} examples after the split`);
    const model = buildModel(job.modelArchitecture, data.inputShape);
    try {
      setModelWeights(model, job.weights);
      signal?.throwIfAborted();
      progress?.({ phase: 'evaluating', done: 0, total: split.n });
      const metrics = metricsOf(predict(model, split, data.inputShape), split.y);
      progress?.({ phase: 'evaluating', done: split.n, total: split.n });
      return { numExamples: split.n, metrics };
    } finally {
      model.dispose();
    }
  }

  /** The job's data: the centre's folder prepared as the experiment says (once), or the synthetic set. */
  private async dataFor(job: EvaluationJob, progress?: ProgressListener): Promise<PreparedDataset> {
    if (!job.data) return syntheticSplit(job.centreId, job.modelArchitecture, this.options.syntheticExamples ?? 512);
    const dir = this.options.dataDir;
    if (!dir) throw new IncompatibleJobError(`the experiment brings a data specification but centre ${job.centreId} has no data folder configured (DATA_DIR)`);
    const key = JSON.stringify([dir, job.data]);
    let pending = this.prepared.get(key);
    if (!pending) {
      const started = Date.now();
      const issues: DataIssue[] = [];
      const prepare = { onError: this.options.onDataError ?? 'skip', report: (i: DataIssue) => issues.push(i), ...(progress ? { progress: (done: number, total: number) => progress({ phase: 'preparing', done, total }) } : {}) };
      pending = prepareCentreData(dir, job.data, prepare).then((d) => {
        const sizes = `train ${d.train.n} (${d.train.patients} patients), validation ${d.validation.n}, test ${d.test.n}`;
        this.options.log?.(`prepared ${d.kind} data of ${d.centreId} in ${Date.now() - started} ms: ${sizes}${d.issues.length ? `; ${d.issues.length} rows or files left out (first: ${d.issues[0]!.file}: ${d.issues[0]!.reason})` : ''}`);
        return d;
      });
      pending.catch(() => this.prepared.delete(key)); // a failed preparation is tried again by the next task
      this.prepared.set(key, pending);
    }
    return pending;
  }
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer?: 'sgd' | 'adam';
  /** FedProx: mu/2·||w − w_start||² added to the loss, w_start the weights the model has on entry. */
  proximalMu: number;
  /** Augment image batches (flips, shifts, brightness/contrast). */
  augment: boolean;
  /** Seeds the shuffling and the augmentation (derive it from centre and round). */
  seed: string;
  /**
   * `balanced` (default): each class's examples weigh n / (2·n_class) in the loss, from this split's own counts, so a
   * centre whose patients are 80 % malignant is not rewarded for calling everything malignant. `none`: plain mean.
   */
  classWeighting?: 'balanced' | 'none';
}

/**
 * Mini-batch training of `model` in place on a prepared split: per epoch a seeded shuffle, batches gathered,
 * augmented (images), one optimiser step each. Returns the mean batch loss. Used by the centres' trainer and
 * by `fedledger compare` (the centralised baseline trains on the pooled splits the same way).
 */
export async function fit(
  model: tf.LayersModel,
  split: PreparedSplit,
  data: Pick<PreparedDataset, 'inputShape' | 'kind'>,
  o: FitOptions,
  signal?: AbortSignal,
  progress?: ProgressListener,
): Promise<number> {
  const globals: tf.Tensor[] = [];
  const optimizer = o.optimizer === 'adam' ? tf.train.adam(o.learningRate) : tf.train.sgd(o.learningRate);
  try {
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (o.proximalMu > 0) for (const v of variables) globals.push(tf.keep(v.clone()));
    const size = data.inputShape.reduce((a, b) => a * b, 1);
    const imageSize = data.kind === 'image' ? ([data.inputShape[0]!, data.inputShape[1]!] as const) : undefined;
    const classWeight = classWeights(split.y, o.classWeighting ?? 'balanced');
    let lossSum = 0;
    let batches = 0;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = shuffleInPlace(Array.from({ length: split.n }, (_, i) => i), createRandomSource(deriveSeed(o.seed, 'shuffle', epoch)));
      for (let start = 0; start < split.n; start += o.batchSize) {
        signal?.throwIfAborted();
        const idx = order.slice(start, start + o.batchSize);
        let xb = gather(split.x, idx, size);
        if (imageSize && o.augment) xb = augmentBatch(xb, imageSize, deriveSeed(o.seed, 'augment', epoch, start));
        const yb = Int32Array.from(idx.map((i) => split.y[i]!));
        const wb = Float32Array.from(idx.map((i) => classWeight[split.y[i]!]!));
        const loss = optimizer.minimize(
          () =>
            tf.tidy(() => {
              const x = tf.tensor(xb, [idx.length, ...data.inputShape]);
              const y = tf.oneHot(tf.tensor1d(yb, 'int32'), CLASSES);
              const pred = model.apply(x, { training: true }) as tf.Tensor;
              let l = tf.losses.softmaxCrossEntropy(y, pred, tf.tensor1d(wb)) as tf.Scalar;
              if (o.proximalMu > 0) {
                const prox = variables.map((v, i) => tf.sum(tf.square(tf.sub(v, globals[i]!))));
                l = tf.add(l, tf.mul(o.proximalMu / 2, tf.addN(prox))) as tf.Scalar;
              }
              return l;
            }),
          true,
        );
        lossSum += (await loss!.data())[0]!;
        loss!.dispose();
        batches++;
        progress?.({ phase: 'training', done: epoch * split.n + Math.min(split.n, start + o.batchSize), total: o.epochs * split.n });
      }
    }
    return lossSum / Math.max(1, batches);
  } finally {
    optimizer.dispose();
    tf.dispose(globals);
  }
}

/** Loss weight per class (index = label). */
function classWeights(labels: Uint8Array, mode: 'balanced' | 'none'): number[] {
  const counts = Array.from({ length: CLASSES }, () => 0);
  for (const y of labels) counts[y]!++;
  return counts.map((c) => (mode === 'none' || c === 0 ? 1 : labels.length / (CLASSES * c)));
}

/** Rows `idx` of an n × size array, packed. */
function gather(x: Float32Array, idx: readonly number[], size: number): Float32Array {
  const out = new Float32Array(idx.length * size);
  idx.forEach((i, k) => out.set(x.subarray(i * size, (i + 1) * size), k * size));
  return out;
}

/** Probability of class 1 (malignant) for every example of the split. */
export function predict(model: tf.LayersModel, split: PreparedSplit, inputShape: readonly number[]): Float32Array {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(split.n);
  for (let start = 0; start < split.n; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, split.n - start);
    const p = tf.tidy(() => {
      const x = tf.tensor(split.x.subarray(start * size, (start + n) * size), [n, ...inputShape]);
      return (model.predict(x) as tf.Tensor).slice([0, 1], [n, 1]).reshape([n]);
    });
    out.set(p.dataSync(), start);
    p.dispose();
  }
  return out;
}

/** Binary metrics as a flat record (null metrics — one class absent — are left out). */
export function metricsOf(probabilities: Float32Array, labels: Uint8Array): Record<string, number> {
  const m = binaryMetrics(probabilities, labels);
  const out: Record<string, number> = { loss: m.loss, accuracy: m.accuracy, examples: m.examples, positives: m.positives };
  if (m.auc !== null) out.auc = m.auc;
  if (m.sensitivity !== null) out.sensitivity = m.sensitivity;
  if (m.specificity !== null) out.specificity = m.specificity;
  return out;
}

