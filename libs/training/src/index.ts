export type { Trainer, TrainingJob, TrainingResult } from './trainer';
export { NoopTrainer } from './noop-trainer';
