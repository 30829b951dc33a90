import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeEvent, type StrategyName } from '@fedledger/contracts';
import { encodeWeights } from '@fedledger/fl-core';
import { initialWeightsOf } from '@fedledger/training';
import { Federation } from '@fedledger/federation';
import type { Io } from '../io';
import { initialWeights } from './initial-weights';

export interface SimulationOptions {
  trainer: 'noop' | 'tfjs';
  learningRate: number;
  centres: number;
  rounds: number;
  params: number;
  strategy: StrategyName;
  strategyParams: Record<string, number>;
  epochs: number;
  minFit: number;
  deadlineMs: number;
  evaluateEvery: number;
  json: boolean;
  keep: boolean;
}

/**
 * A whole federation on this machine (see Federation): an experiment created through the
 * coordinator's REST API, its events printed as they happen (one JSON line each with --json).
 * Exits 0 when the experiment succeeds.
 */
export async function runSimulation(o: SimulationOptions, io: Io): Promise<number> {
  const progress = (s: string) => io.err(`[simulate] ${s}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-sim-'));
  const centres = Array.from({ length: o.centres }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  let federation: Federation | undefined;
  let succeeded = false;
  try {
    federation = await Federation.start({
      dir,
      centres,
      env: { LOG_LEVEL: 'warn', TRAINER: o.trainer },
      envOf: { aggregator: { LOG_LEVEL: 'info' } },
      progress,
    });
    const blobs = await federation.blobStore();
    // The tfjs trainer trains a registered architecture, so the model starts from its initial weights.
    const architecture = o.trainer === 'tfjs' ? 'dense-test' : 'noop-dense';
    const weights = await blobs.put(encodeWeights(o.trainer === 'tfjs' ? await initialWeightsOf(architecture) : initialWeights(o.params)));
    const experimentId = `sim-${Date.now().toString(36)}`;
    await federation.api('/experiments', {
      id: experimentId,
      modelArchitecture: architecture,
      initialWeights: weights,
      learningRate: o.learningRate,
      strategy: { kind: o.strategy, params: o.strategyParams },
      rounds: o.rounds,
      epochsPerRound: o.epochs,
      centres,
      minFitCentres: o.minFit,
      minAvailableCentres: o.minFit,
      roundDeadlineMs: o.deadlineMs,
      maxRoundRetries: 0,
      evaluateEvery: o.evaluateEvery,
    });
    progress(`experiment ${experimentId}: ${o.rounds} rounds × ${o.centres} centres, ${o.trainer === 'tfjs' ? `model ${architecture}` : `${o.params} parameters`}, ${o.strategy}, trainer ${o.trainer}`);
    await federation.api(`/experiments/${experimentId}/start`);
    for await (const event of federation.events(experimentId)) {
      io.out(o.json ? JSON.stringify(event) : describeEvent(event));
      if (event.event === 'experiment.completed') succeeded = event.outcome === 'EXPERIMENT_OUTCOME_SUCCEEDED';
    }
    return succeeded ? 0 : 1;
  } finally {
    await federation?.stop();
    if (o.keep || !succeeded) progress(`logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
