export { IncompatibleJobError, type EvaluationJob, type EvaluationResult, type Trainer, type TrainingJob, type TrainingResult } from './trainer';
export { NoopTrainer } from './noop-trainer';
export { TfjsTrainer } from './tfjs/tfjs-trainer';
export { ARCHITECTURES, architecture, initialWeightsOf, type ModelArchitecture } from './tfjs/architectures';
export { initTfjs } from './tfjs/backend';
export { exportTfjsModel, type TfjsModelFiles } from './tfjs/export';
export { modelNames, modelSpec, registerModel, type ModelBuildOptions, type ModelSpec } from './models';
export * from './data';
export * from './preprocess';
