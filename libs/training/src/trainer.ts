import type { WeightTensor } from '@fedledger/fl-core';
import type { DataPreparation } from './centre/prepared';

/** One round of local work a centre is asked to do. */
export interface TrainingJob {
  experimentId: string;
  round: number;
  centreId: string;
  modelArchitecture: string;
  datasetId: string;
  /** The global model to start from; a trainer must not modify these arrays. */
  weights: readonly WeightTensor[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** FedProx: adds mu/2 * ||w - w_global||^2 to the local loss (0 = plain FedAvg). */
  proximalMu: number;
  /** Local optimiser (default sgd). */
  optimizer?: 'sgd' | 'adam';
  /** How to prepare the centre's data (the experiment's); absent: the trainer's synthetic data. */
  data?: DataPreparation;
}

export interface TrainingResult {
  /** New weights, same names and shapes as the job's. */
  weights: WeightTensor[];
  /** Examples trained on (the weight of this update in FedAvg). */
  numExamples: number;
  metrics: Record<string, number>;
}

/** An evaluation of the global model on the centre's held-out data (no training). */
export type EvaluationJob = Pick<TrainingJob, 'experimentId' | 'round' | 'centreId' | 'modelArchitecture' | 'datasetId' | 'weights' | 'batchSize' | 'data'> & {
  /** The validation patients (evaluation rounds, the default) or the held-out test patients. */
  split?: 'validation' | 'test';
};

export interface EvaluationResult {
  /** Examples evaluated on (the weight of this centre in the aggregated metrics). */
  numExamples: number;
  metrics: Record<string, number>;
}

/** How far a task has come: files read while preparing the data, examples while training or evaluating. */
export interface TaskProgressReport {
  phase: 'preparing' | 'training' | 'evaluating';
  done: number;
  total: number;
}
export type ProgressListener = (progress: TaskProgressReport) => void;

/** What a centre-agent runs for a task. Implementations: `noop` (overhead benchmarks), tfjs models. */
export interface Trainer {
  readonly name: string;
  train(job: TrainingJob, signal?: AbortSignal, progress?: ProgressListener): Promise<TrainingResult>;
  evaluate(job: EvaluationJob, signal?: AbortSignal, progress?: ProgressListener): Promise<EvaluationResult>;
}

/** The job cannot be run by this trainer as given (unknown architecture, weights that do not fit): retrying will not help. */
export class IncompatibleJobError extends Error {
  override readonly name = 'IncompatibleJobError';
}
