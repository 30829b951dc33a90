import type { StrategyPlan } from '@fedledger/contracts';
import { createStrategy, decodeOptimiserState, encodeOptimiserState, type StrategyConfig } from '@fedledger/fl-core';

/** What the aggregator drives per round: fold updates in as they arrive, take the aggregate once. */
export interface RoundAccumulator {
  add(update: { tensors: readonly Float32Array[]; numExamples: number }): void;
  /** The new global weights (written into `into`) and, for server optimisers, the encoded state the next round starts from. */
  finish(into: readonly Float32Array[]): { state?: Uint8Array };
}

/**
 * Opens the plan's strategy (libs/fl-core, Flower's definitions) for one round, from the current
 * global weights and the optimiser state the previous round left.
 */
export function openAccumulator(plan: StrategyPlan, round: number, global: Float32Array[], state?: Uint8Array): RoundAccumulator {
  // The plan's params use Flower's names; createStrategy validates them and names any that is wrong.
  const strategy = createStrategy({ kind: plan.kind, ...(plan.params ?? {}) } as StrategyConfig);
  const acc = strategy.begin(round, global, state ? decodeOptimiserState(state) : undefined);
  return {
    add: (u) => acc.add(u),
    finish: (into) => {
      const result = acc.finish(into);
      return result.state ? { state: encodeOptimiserState(result.state) } : {};
    },
  };
}
