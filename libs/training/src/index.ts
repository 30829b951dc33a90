export {
  IncompatibleJobError,
  type EvaluationJob,
  type EvaluationResult,
  type ProgressListener,
  type TaskProgressReport,
  type Trainer,
  type TrainingJob,
  type TrainingResult,
} from './trainer';
export { NoopTrainer } from './noop-trainer';
export { fit, metricsOf, predict, TfjsTrainer, type FitOptions, type TfjsTrainerOptions } from './tfjs/tfjs-trainer';
export { centreKind, prepareCentreData, type DataPreparation, type PrepareOptions, type PreparedDataset, type PreparedSplit } from './centre/prepared';
export { initTfjs } from './tfjs/backend';
export { exportTfjsModel, type TfjsModelFiles } from './tfjs/export';
export { buildModel, CLASSES, initialWeightsOf, modelNames, modelSpec, modelWeights, registerModel, setModelWeights, type ModelBuildOptions, type ModelSpec } from './models';
export * from './data';
export * from './synth';
export * from './preprocess';
