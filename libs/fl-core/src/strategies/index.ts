export { fedMedian, fedTrimmedAvg } from './coordinate-wise';
export { FedAvgAccumulator, fedAvg } from './fedavg';
export { bulyan, krum, KrumDistances, multiKrum, type SelectionAggregate } from './krum';
export {
  fedAdagradStep,
  fedAdamStep,
  fedAvgMStep,
  fedYogiStep,
  type FedAdagradParams,
  type FedAdagradState,
  type FedAdamParams,
  type FedAdamState,
  type FedAvgMParams,
  type FedAvgMState,
  type FedYogiParams,
  type FedYogiState,
  type FloatTensors,
  type OptimiserState,
  type StepResult,
} from './server-optimisers';
export { decodeOptimiserState, encodeOptimiserState } from './state-format';
export {
  createStrategy,
  resolveStrategyConfig,
  type ResolvedStrategyConfig,
  type RoundAccumulator,
  type RoundAggregate,
  type Strategy,
  type StrategyConfig,
  type StrategyKind,
} from './strategy';
export { AggregationError, StrategyConfigError, type CentreUpdate, type Implementation, type ImplementationOptions } from './update';
