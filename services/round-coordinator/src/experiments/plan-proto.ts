import { StrategyKind, type DataPlan, type IDataSpec, type IStrategy, type StrategyPlan } from '@fedledger/contracts';

const KINDS: Record<StrategyPlan['kind'], StrategyKind> = {
  fedavg: StrategyKind.STRATEGY_KIND_FEDAVG,
  fedprox: StrategyKind.STRATEGY_KIND_FEDPROX,
  fedmedian: StrategyKind.STRATEGY_KIND_FEDMEDIAN,
  fedtrimmedavg: StrategyKind.STRATEGY_KIND_TRIMMED_MEAN,
  krum: StrategyKind.STRATEGY_KIND_KRUM,
  fedavgm: StrategyKind.STRATEGY_KIND_FEDAVGM,
  multikrum: StrategyKind.STRATEGY_KIND_MULTIKRUM,
  bulyan: StrategyKind.STRATEGY_KIND_BULYAN,
  fedadam: StrategyKind.STRATEGY_KIND_FEDADAM,
  fedyogi: StrategyKind.STRATEGY_KIND_FEDYOGI,
  fedadagrad: StrategyKind.STRATEGY_KIND_FEDADAGRAD,
};

/** The strategy as it travels in tasks and events (centres need e.g. proximal_mu). */
export function strategyMessage(plan: StrategyPlan): IStrategy {
  const p = plan.params ?? {};
  return {
    kind: KINDS[plan.kind],
    proximalMu: p.proximal_mu ?? 0,
    trimRatio: p.beta ?? 0,
    byzantineCount: p.num_malicious_clients ?? 0,
    serverLearningRate: p.server_learning_rate ?? 0,
    serverMomentum: p.server_momentum ?? 0,
    beta_1: p.beta_1 ?? 0,
    beta_2: p.beta_2 ?? 0,
    eta: p.eta ?? 0,
    tau: p.tau ?? 0,
    numClientsToKeep: p.num_clients_to_keep ?? 0,
  };
}

/** The plan's data preparation as the DataSpec message the centres receive with every task. */
export function dataSpecMessage(d: DataPlan): IDataSpec {
  return {
    inputShape: d.inputShape,
    ...(d.landmarks ? { landmarks: { percentiles: d.landmarks.percentiles, standard: d.landmarks.standard, foregroundThreshold: d.landmarks.foregroundThreshold } } : {}),
    normalisation: d.normalisation,
    validationFraction: d.validationFraction,
    testFraction: d.testFraction,
    splitSeed: d.splitSeed,
    augment: d.augment,
  };
}
