import './protobuf-runtime';
import { fedledger } from './generated/fedledger';

/** The generated namespace, mirroring the proto packages (fedledger.common.v1, fedledger.fl.v1). */
export { fedledger };

// Short names for the current versions. Each is a class (encode/decode/create/verify/fromObject/toObject)
// plus an `I…` interface of its plain-object form.
export const BlobRef = fedledger.common.v1.BlobRef;
export type BlobRef = fedledger.common.v1.BlobRef;
export type IBlobRef = fedledger.common.v1.IBlobRef;
export const Metric = fedledger.common.v1.Metric;
export type Metric = fedledger.common.v1.Metric;
export type IMetric = fedledger.common.v1.IMetric;

export const StrategyKind = fedledger.fl.v1.StrategyKind;
export type StrategyKind = fedledger.fl.v1.StrategyKind;
export const Strategy = fedledger.fl.v1.Strategy;
export type Strategy = fedledger.fl.v1.Strategy;
export type IStrategy = fedledger.fl.v1.IStrategy;
export const TaskKind = fedledger.fl.v1.TaskKind;
export type TaskKind = fedledger.fl.v1.TaskKind;
export const TrainingTask = fedledger.fl.v1.TrainingTask;
export type TrainingTask = fedledger.fl.v1.TrainingTask;
export type ITrainingTask = fedledger.fl.v1.ITrainingTask;
export const ModelUpdate = fedledger.fl.v1.ModelUpdate;
export type ModelUpdate = fedledger.fl.v1.ModelUpdate;
export type IModelUpdate = fedledger.fl.v1.IModelUpdate;
export const CentreResult = fedledger.fl.v1.CentreResult;
export type CentreResult = fedledger.fl.v1.CentreResult;
export type ICentreResult = fedledger.fl.v1.ICentreResult;
export const RoundStarted = fedledger.fl.v1.RoundStarted;
export type RoundStarted = fedledger.fl.v1.RoundStarted;
export type IRoundStarted = fedledger.fl.v1.IRoundStarted;
export const RoundAggregated = fedledger.fl.v1.RoundAggregated;
export type RoundAggregated = fedledger.fl.v1.RoundAggregated;
export type IRoundAggregated = fedledger.fl.v1.IRoundAggregated;
export const UpdateAccepted = fedledger.fl.v1.UpdateAccepted;
export type UpdateAccepted = fedledger.fl.v1.UpdateAccepted;
export type IUpdateAccepted = fedledger.fl.v1.IUpdateAccepted;
export const RoundClose = fedledger.fl.v1.RoundClose;
export type RoundClose = fedledger.fl.v1.RoundClose;
export type IRoundClose = fedledger.fl.v1.IRoundClose;
export const RoundCompleted = fedledger.fl.v1.RoundCompleted;
export type RoundCompleted = fedledger.fl.v1.RoundCompleted;
export type IRoundCompleted = fedledger.fl.v1.IRoundCompleted;
export const RejectReason = fedledger.fl.v1.RejectReason;
export type RejectReason = fedledger.fl.v1.RejectReason;
export const UpdateRejected = fedledger.fl.v1.UpdateRejected;
export type UpdateRejected = fedledger.fl.v1.UpdateRejected;
export type IUpdateRejected = fedledger.fl.v1.IUpdateRejected;
export const Landmarks = fedledger.fl.v1.Landmarks;
export type Landmarks = fedledger.fl.v1.Landmarks;
export type ILandmarks = fedledger.fl.v1.ILandmarks;
export const DataSpec = fedledger.fl.v1.DataSpec;
export type DataSpec = fedledger.fl.v1.DataSpec;
export type IDataSpec = fedledger.fl.v1.IDataSpec;
export const TaskProgress = fedledger.fl.v1.TaskProgress;
export type TaskProgress = fedledger.fl.v1.TaskProgress;
export type ITaskProgress = fedledger.fl.v1.ITaskProgress;
export const LedgerEventIndexed = fedledger.ledger.v1.LedgerEventIndexed;
export type LedgerEventIndexed = fedledger.ledger.v1.LedgerEventIndexed;
export type ILedgerEventIndexed = fedledger.ledger.v1.ILedgerEventIndexed;
export const TaskFailed = fedledger.fl.v1.TaskFailed;
export type TaskFailed = fedledger.fl.v1.TaskFailed;
export type ITaskFailed = fedledger.fl.v1.ITaskFailed;
export const CentreEvaluation = fedledger.fl.v1.CentreEvaluation;
export type CentreEvaluation = fedledger.fl.v1.CentreEvaluation;
export type ICentreEvaluation = fedledger.fl.v1.ICentreEvaluation;
export const EvaluationReported = fedledger.fl.v1.EvaluationReported;
export type EvaluationReported = fedledger.fl.v1.EvaluationReported;
export type IEvaluationReported = fedledger.fl.v1.IEvaluationReported;
export const RoundEvaluated = fedledger.fl.v1.RoundEvaluated;
export type RoundEvaluated = fedledger.fl.v1.RoundEvaluated;
export type IRoundEvaluated = fedledger.fl.v1.IRoundEvaluated;
export const ExperimentOutcome = fedledger.fl.v1.ExperimentOutcome;
export type ExperimentOutcome = fedledger.fl.v1.ExperimentOutcome;
export const ExperimentCompleted = fedledger.fl.v1.ExperimentCompleted;
export type ExperimentCompleted = fedledger.fl.v1.ExperimentCompleted;
export type IExperimentCompleted = fedledger.fl.v1.IExperimentCompleted;
export const ComputeDevice = fedledger.fl.v1.ComputeDevice;
export type ComputeDevice = fedledger.fl.v1.ComputeDevice;
export const CentreCapabilities = fedledger.fl.v1.CentreCapabilities;
export type CentreCapabilities = fedledger.fl.v1.CentreCapabilities;
export type ICentreCapabilities = fedledger.fl.v1.ICentreCapabilities;
export const CentreHeartbeat = fedledger.fl.v1.CentreHeartbeat;
export type CentreHeartbeat = fedledger.fl.v1.CentreHeartbeat;
export type ICentreHeartbeat = fedledger.fl.v1.ICentreHeartbeat;

export {
  assertSubjectToken,
  CENTRE_EVENT_KINDS,
  EVENT_KINDS,
  isCentreEvent,
  isSubjectToken,
  streams,
  subjects,
  SubjectTokenError,
  type AggregateSubject,
  type DeadLetterSubject,
  type EventKind,
  type EventSubject,
  type HeartbeatSubject,
  type StreamName,
  type TaskSubject,
  type UpdateSubject,
} from './subjects';
export * from './experiment-state';
export * from './principals';
export { decodeEvent, describeEvent, type EventRecord } from './events';
export { LEDGER_ID, TASK_LIMITS } from './limits';
