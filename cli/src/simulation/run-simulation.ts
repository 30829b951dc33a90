import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeEvent, subjects, TaskProgress, type DataPlan, type EventRecord, type ExperimentState, type StrategyName } from '@fedledger/contracts';
import { decodeWeights, encodeWeights, type WeightTensor } from '@fedledger/fl-core';
import { Federation } from '@fedledger/federation';
import { exportTfjsModel, initialWeightsOf } from '@fedledger/training';
import { displayPath, table, type Io } from '../io';
import { MODEL_ARTEFACT, writeModelFolder } from '../model-artefact';
import type { Passport } from '@fedledger/ledger-host';
import { centreFolders, dataPlan, defaultData, type CentreFolders } from './centre-data';
import type { LedgerGateway } from '@fedledger/ledger';
import { openLedger } from '@fedledger/ledger-host';
import { FABRIC_ORGS } from '@fedledger/local-stack';
import { fabricConnectionFile, ledgerModeOf } from '../ledger-mode';
import { awaitPassportIndexed, awaitPassportRecorded, createExperimentPassport, datasetIdOf, DirectLedger, RegistryClient, simulationIdentities, type IndexedPassport, type PassportLedger } from './passport-setup';
import { initialWeights } from './initial-weights';
import { ProgressView } from './progress-view';

export interface SimulationOptions {
  /** tfjs: the centres train a zoo model on their data folders; noop: weights slightly perturbed (round overhead). */
  trainer: 'noop' | 'tfjs';
  /** tfjs: a folder of centre folders (default: synthetic centres in .data/synth, generated when absent). */
  data?: string;
  /** tfjs: zoo model (default small-cnn for images, mlp for tables). */
  model?: string;
  /** tfjs, images: the model's input is inputSize × inputSize × 1. */
  inputSize: number;
  /** noop: number of centres. */
  centres: number;
  rounds: number;
  /** noop: model parameters. */
  params: number;
  strategy: StrategyName;
  strategyParams: Record<string, number>;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  /** Fewest updates for a round to count (default: every centre). */
  minFit?: number;
  deadlineMs: number;
  evaluateEvery: number;
  json: boolean;
  keep: boolean;
  /** Where the final model is written (default .data/models/<experiment>). */
  out?: string;
  /** Split seed of the experiment's data definition. */
  splitSeed?: number;
  /** Images: Nyúl–Udupa histogram matching (default true). */
  histogramMatching?: boolean;
  /** The embedded ledger the experiment's passport goes on (default .data/ledger). */
  ledgerDir?: string;
  /** The organisations' identities (default .data/identities; created when absent). */
  identityDir?: string;
  /** embedded or fabric (default: fabric while `fedledger up --ledger fabric` runs from this data directory). */
  ledger?: string;
}

export interface SimulationResult {
  succeeded: boolean;
  experimentId: string;
  state: ExperimentState;
  finalWeights: WeightTensor[];
  /** The final aggregate exactly as the federation stored it (FLW1): the artefact recorded on the passport. */
  finalBytes: Uint8Array;
  /** The experiment's AI passport as the registry left it: every round and the final model recorded. */
  passport: Passport;
  /** The passport as the ledger-indexer's audit cache holds it, once caught up. */
  indexed: IndexedPassport;
  data?: { folders: CentreFolders; plan: DataPlan; model: string };
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

/**
 * Runs one experiment on a whole federation of real processes on this machine (see Federation): the
 * coordinator, the aggregator and one centre-agent per centre over NATS, the experiment created through the
 * coordinator's REST API. `report` sees every event; progress goes to stderr.
 */
export async function runExperiment(o: SimulationOptions, io: Io, report: (event: EventRecord, view: ProgressView) => void): Promise<SimulationResult> {
  const progress = (s: string) => io.err(`[simulate] ${s}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-sim-'));
  let federation: Federation | undefined;
  let direct: LedgerGateway | undefined;
  let succeeded = false;
  try {
    const folders = o.trainer === 'tfjs' ? centreFolders(o.data ?? (await defaultData(io))) : undefined;
    const centres = folders ? [...folders.centres.keys()] : Array.from({ length: o.centres }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
    const model = folders ? (o.model ?? (folders.kind === 'image' ? 'small-cnn' : 'mlp')) : 'noop-dense';
    const data = folders ? await dataPlan(folders, o.inputSize, o.splitSeed, o.histogramMatching ?? true) : undefined;
    const ledgerDir = path.resolve(io.cwd, o.ledgerDir ?? path.join('.data', 'ledger'));
    const identityDir = path.resolve(io.cwd, o.identityDir ?? path.join('.data', 'identities'));
    const mode = ledgerModeOf(o.ledger, path.dirname(identityDir), 'simulate');
    const fabricConnection = fabricConnectionFile(path.dirname(identityDir));
    // On Fabric only the channel's organisations can sign: the other centres train without a dataset on the ledger.
    const identities = await simulationIdentities(identityDir, centres, progress, mode === 'fabric' ? FABRIC_ORGS.peers : undefined);
    const everyCentreOnLedger = centres.every((id) => identities.stewards.has(id));
    federation = await Federation.start({
      dir,
      centres,
      registry: { ledgerDir, identityDir },
      // The audit cache too, as the platform runs it: the rounds' trace ends in the indexer.
      indexer: true,
      env: { LOG_LEVEL: 'warn', TRAINER: o.trainer },
      envOf: {
        // When every centre has an identity and a dataset on the ledger, the aggregator counts signed updates only
        // and the coordinator starts the experiment only if every centre's dataset holds a live grant.
        aggregator: { LOG_LEVEL: 'info', IDENTITY_DIR: identityDir, UPDATE_SIGNATURES: everyCentreOnLedger ? 'require' : 'verify' },
        'passport-registry': mode === 'fabric' ? { LEDGER: 'fabric', FABRIC_CONNECTION: fabricConnection } : {},
        'ledger-indexer': mode === 'fabric' ? { LEDGER: 'fabric', FABRIC_CONNECTION: fabricConnection } : {},
        'round-coordinator': everyCentreOnLedger ? { LEDGER: mode, LEDGER_DIR: ledgerDir, IDENTITY_DIR: identityDir, FABRIC_CONNECTION: fabricConnection } : {},
        ...Object.fromEntries(
          centres.map((id) => {
            const steward = identities.stewards.get(id);
            // A centre with its dataset on the ledger checks its grant before every task, as its own data steward.
            const grants = steward
              ? { LEDGER: mode, LEDGER_DIR: ledgerDir, IDENTITY_DIR: identityDir, FABRIC_CONNECTION: fabricConnection, CENTRE_IDENTITY: `${steward.org}/${steward.user}`, LEDGER_DATASET_ID: datasetIdOf(folders, id) }
              : {};
            const data = folders?.centres.get(id);
            return [`centre-${id}`, { ...(data ? { DATA_DIR: data, LOG_LEVEL: 'info' } : {}), ...grants }];
          }),
        ),
      },
      progress,
    });
    const blobs = await federation.blobStore();
    const weights = await blobs.put(encodeWeights(data ? await initialWeightsOf(model, data.inputShape) : initialWeights(o.params)));
    const experimentId = `sim-${Date.now().toString(36)}`;
    const minFit = Math.min(centres.length, o.minFit ?? centres.length);
    // Embedded: through the registry (the ledger folder's one writer), signed here. Fabric: straight to the peers.
    direct = mode === 'fabric' ? openLedger({ mode, fabricConnection, reader: identities.developer }) : undefined;
    const registry: PassportLedger = direct ? new DirectLedger(direct, identities.developer) : new RegistryClient(federation.registryUrl!);
    const passportId = await createExperimentPassport(registry, identities, { experimentId, model, strategy: o.strategy, rounds: o.rounds, ...(folders ? { folders } : {}) });
    progress(
      `passport ${passportId} on the ${mode === 'fabric' ? `Fabric channel ${direct!.channel}` : `ledger in ${displayPath(ledgerDir, io.cwd)}`}: owner ${identities.developer.mspId}/${identities.developer.user}` +
        (identities.stewards.size ? `, ${identities.stewards.size} datasets granted (${[...identities.stewards.keys()].join(', ')})` : ''),
    );
    await federation.api('/experiments', {
      id: experimentId,
      passportId,
      modelArchitecture: model,
      initialWeights: weights,
      learningRate: o.learningRate,
      localOptimizer: o.optimizer,
      batchSize: o.batchSize,
      strategy: { kind: o.strategy, params: o.strategyParams },
      rounds: o.rounds,
      epochsPerRound: o.epochs,
      centres,
      minFitCentres: minFit,
      minAvailableCentres: minFit,
      roundDeadlineMs: o.deadlineMs,
      maxRoundRetries: 0,
      evaluateEvery: o.evaluateEvery,
      ...(data ? { data, datasetId: path.basename(folders!.root) } : {}),
    });
    const what = data
      ? `model ${model} on [${data.inputShape.join('×')}] ${folders!.kind} data from ${displayPath(folders!.root, io.cwd)}${data.landmarks ? ', histogram matching to landmarks learnt from the reference centre' : ''}`
      : `${o.params} parameters, trainer noop`;
    progress(`experiment ${experimentId}: ${o.rounds} rounds × ${centres.length} centres (${centres.join(', ')}), ${o.epochs} local epoch(s), ${o.strategy}; ${what}`);

    const view = new ProgressView(centres, (t) => io.err(t), process.stderr.isTTY === true && !o.json);
    const connection = await federation.connect();
    const sub = connection.nc.subscribe(subjects.progressOf(experimentId), {
      callback: (err, m) => {
        if (err) return;
        const p = TaskProgress.decode(m.data);
        view.progress(p.centreId, p.round, p.phase, p.done, p.total);
      },
    });
    await federation.api(`/experiments/${experimentId}/start`);
    try {
      for await (const event of federation.events(experimentId)) {
        if (event.event === 'update.accepted') view.state(String(event.centreId), 'sent');
        if (event.event === 'evaluation.reported') view.state(String(event.centreId), 'evaluated');
        if (event.event === 'round.started') for (const c of event.centres as string[]) view.state(c, 'training');
        report(event, view);
        if (event.event === 'experiment.completed') succeeded = event.outcome === 'EXPERIMENT_OUTCOME_SUCCEEDED';
      }
    } finally {
      view.stop();
      sub.unsubscribe();
    }
    const state = await federation.get<ExperimentState>(`/experiments/${experimentId}`);
    const finalBytes = await blobs.getBytes(state.globalWeights);
    const finalWeights = decodeWeights(finalBytes);
    // The registry records the rounds and the final model from the events, a moment after they happen.
    progress(`waiting for the passport-registry to record ${state.completedRounds.length} rounds${succeeded ? ' and the final model' : ''} on passport ${passportId}`);
    const passport = await awaitPassportRecorded(registry, passportId, state.completedRounds.length, succeeded ? `sha256:${state.globalWeights.sha256}` : undefined);
    const indexed = await awaitPassportIndexed(federation.indexerUrl!, passportId, passport.version);
    progress(`ledger-indexer: passport ${passportId} in the audit cache at version ${indexed.version} (${indexed.versions} versions, ${indexed.rounds} rounds)`);
    return { succeeded, experimentId, state, finalWeights, finalBytes, passport, indexed, ...(data ? { data: { folders: folders!, plan: data, model } } : {}) };
  } finally {
    await direct?.close();
    await federation?.stop();
    if (o.keep || !succeeded) progress(`logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** `fedledger simulate`: events as they happen (JSON lines with --json, else a round table), the final metrics and model. */
export async function runSimulation(o: SimulationOptions, io: Io): Promise<number> {
  const columns = ['round', 'centres', 'examples', 'train loss', 'val loss', 'val auc', 'val acc', 'seconds'];
  const widths = columns.map((c) => Math.max(c.length, 7));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  const pending = new Map<number, string[]>();
  let headed = false;
  const out = (text: string) => io.out(text);
  const row = (cells: string[], view: ProgressView) => {
    if (!headed) view.print(line(columns), out);
    headed = true;
    view.print(line(cells), out);
  };
  const result = await runExperiment(o, io, (event, view) => {
    if (o.json) {
      io.out(JSON.stringify(event));
      return;
    }
    const e = event as EventRecord & { aggregatedMetrics?: Record<string, number> };
    const round = e.round as number;
    switch (event.event) {
      case 'round.completed': {
        const cells = [String(round), String((e.centres as string[]).length), String(e.examples), fmt(e.aggregatedMetrics?.loss), '', '', '', ((e.durationMs as number) / 1000).toFixed(1)];
        // with an evaluation due, the row waits for its validation metrics
        if (o.evaluateEvery > 0 && (round % o.evaluateEvery === 0 || round === o.rounds)) pending.set(round, cells);
        else row(cells, view);
        break;
      }
      case 'round.evaluated': {
        const cells = pending.get(round);
        if (!cells) break;
        pending.delete(round);
        [cells[4], cells[5], cells[6]] = [fmt(e.aggregatedMetrics?.loss), fmt(e.aggregatedMetrics?.auc), fmt(e.aggregatedMetrics?.accuracy)];
        row(cells, view);
        break;
      }
      case 'update.rejected':
      case 'task.failed':
      case 'experiment.completed':
        view.print(`  ${describeEvent(event)}`, out);
        break;
      default:
        break;
    }
  });
  if (result.succeeded) {
    const out = o.out ?? path.join(io.cwd, '.data', 'models', result.experimentId);
    const files = result.data ? await exportTfjsModel(result.data.model, result.finalWeights, result.data.plan.inputShape) : undefined;
    await writeModelFolder(out, result.finalBytes, files);
    const last = result.state.completedRounds[result.state.completedRounds.length - 1];
    if (o.json) {
      io.out(
        JSON.stringify({
          event: 'model.exported',
          experimentId: result.experimentId,
          dir: out,
          artefact: path.join(out, MODEL_ARTEFACT),
          aggregateSha256: result.state.globalWeights.sha256,
          ...(files ? { modelJsonSha256: files.modelJsonSha256, weightsSha256: files.weightsSha256 } : {}),
        }),
      );
    } else {
      const evaluation = last?.evaluation;
      if (evaluation) {
        const metric = (m: Record<string, number>, k: string) => fmt(m[k]);
        const lines = [['centre', 'examples', 'auc', 'accuracy', 'sensitivity', 'specificity', 'loss']];
        for (const [centre, r] of Object.entries(evaluation.results).sort()) {
          lines.push([centre, String(r.numExamples), metric(r.metrics, 'auc'), metric(r.metrics, 'accuracy'), metric(r.metrics, 'sensitivity'), metric(r.metrics, 'specificity'), metric(r.metrics, 'loss')]);
        }
        const total = Object.values(evaluation.results).reduce((n, r) => n + r.numExamples, 0);
        const a = evaluation.aggregatedMetrics;
        lines.push(['all (weighted)', String(total), metric(a, 'auc'), metric(a, 'accuracy'), metric(a, 'sensitivity'), metric(a, 'specificity'), metric(a, 'loss')]);
        io.out(`\nthe final model on each centre's validation patients (round ${last.round}):`);
        io.out(table(lines));
        if (evaluation.missing.length) io.out(`  not evaluated: ${evaluation.missing.join(', ')}`);
      }
      io.out(`\nfinal model (round ${last?.round}): ${displayPath(out, io.cwd)}`);
      if (files) {
        io.out(`  model.json   sha256 ${files.modelJsonSha256}`);
        io.out(`  weights.bin  sha256 ${files.weightsSha256}`);
      }
      io.out(`  ${MODEL_ARTEFACT}    sha256 ${result.state.globalWeights.sha256} (the federation's aggregate, the artefact on the passport)`);
    }
  }
  const p = result.passport;
  if (o.json) {
    io.out(JSON.stringify({ event: 'passport.recorded', experimentId: result.experimentId, passportId: p.id, rounds: p.roundCount, lastRoundDigest: p.lastRoundDigest, artifactDigest: p.artifactDigest }));
    io.out(JSON.stringify({ event: 'passport.indexed', experimentId: result.experimentId, passportId: p.id, version: result.indexed.version, versions: result.indexed.versions, rounds: result.indexed.rounds }));
  } else {
    io.out(`\nAI passport ${p.id} (owner ${p.owner.mspId}/${p.owner.commonName}): ${p.roundCount} rounds on the ledger, chain ending ${p.lastRoundDigest ?? '-'}`);
    io.out(`  released model ${p.artifactDigest ?? 'not recorded (the experiment did not succeed)'}`);
    io.out(`  audit cache (ledger-indexer): ${result.indexed.versions} versions and ${result.indexed.rounds} rounds indexed; npx fedledger audit ${p.id}`);
    io.out(`  npx fedledger passport show ${p.id}`);
  }
  return result.succeeded ? 0 : 1;
}
