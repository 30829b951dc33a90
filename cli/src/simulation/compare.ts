import { buildModel, fit, initTfjs, metricsOf, predict, prepareCentreData, setModelWeights, type PreparedDataset, type PreparedSplit } from '@fedledger/training';
import type { WeightTensor } from '@fedledger/fl-core';
import type { StrategyName } from '@fedledger/contracts';
import { CliError } from '../errors';
import { table, type Io } from '../io';
import { centreFolders, dataPlan, defaultData } from './centre-data';
import { runExperiment, type SimulationOptions } from './run-simulation';

export interface CompareOptions {
  data?: string;
  model?: string;
  inputSize: number;
  rounds: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  strategies: StrategyName[];
  /** Images: Nyúl–Udupa histogram matching (default true; off to measure what it brings). */
  histogramMatching: boolean;
  /** Where the federated runs' passports go (default .data/ledger, .data/identities). */
  ledgerDir?: string;
  identityDir?: string;
  json: boolean;
}

interface Scores {
  auc: number | null;
  accuracy: number;
  sensitivity: number | null;
  specificity: number | null;
  examples: number;
}

const score = (m: Record<string, number>): Scores => ({ auc: m.auc ?? null, accuracy: m.accuracy!, sensitivity: m.sensitivity ?? null, specificity: m.specificity ?? null, examples: m.examples! });
const meanOf = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};

/** All centres' training splits in one (the centralised data set, CDS). */
function pooled(datasets: readonly PreparedDataset[]): PreparedSplit {
  const size = datasets[0]!.inputShape.reduce((a, b) => a * b, 1);
  const n = datasets.reduce((s, d) => s + d.train.n, 0);
  const x = new Float32Array(n * size);
  const y = new Uint8Array(n);
  let at = 0;
  for (const d of datasets) {
    x.set(d.train.x, at * size);
    y.set(d.train.y, at);
    at += d.train.n;
  }
  return { x, y, n, patients: datasets.reduce((s, d) => s + d.train.patients, 0) };
}

/**
 * The seed's comparison: a model trained centrally on all centres' training data pooled (CDS, the same number
 * of epochs as the federation's rounds × local epochs), and the same model trained federated with each strategy
 * (real processes, as `simulate`), all evaluated on every centre's held-out test patients, which none of them
 * trained on. One row per centre plus the unweighted average over centres (the seed's "Average" row).
 */
export async function runCompare(o: CompareOptions, io: Io): Promise<number> {
  const progress = (s: string) => io.err(`[compare] ${s}`);
  const folders = centreFolders(o.data ?? (await defaultData(io)));
  const plan = await dataPlan(folders, o.inputSize, 1, o.histogramMatching);
  const model = o.model ?? (folders.kind === 'image' ? 'small-cnn' : 'mlp');
  await initTfjs();
  progress(`preparing ${folders.centres.size} centres (${[...folders.centres.keys()].join(', ')}) as the experiments will`);
  const datasets = await Promise.all([...folders.centres.values()].map((dir) => prepareCentreData(dir, plan, { onError: 'skip' })));
  const centres = datasets.map((d) => d.centreId);
  for (const d of datasets) if (d.test.n === 0) throw new CliError(`centre ${d.centreId} has no test patients after the split; it needs more data`);

  const evaluate = (weights: WeightTensor[] | undefined, m = buildModel(model, plan.inputShape)) => {
    try {
      if (weights) setModelWeights(m, weights);
      return datasets.map((d) => score(metricsOf(predict(m, d.test, plan.inputShape), d.test.y)));
    } finally {
      m.dispose();
    }
  };

  // CDS: one model, all training data, rounds × epochs epochs
  const epochs = o.rounds * o.epochs;
  const all = pooled(datasets);
  progress(`CDS: training ${model} centrally on the ${all.n} pooled training examples for ${epochs} epochs`);
  const started = Date.now();
  const cds = buildModel(model, plan.inputShape);
  let lastPrint = 0;
  await fit(cds, all, { inputShape: plan.inputShape, kind: folders.kind }, { epochs, batchSize: o.batchSize, learningRate: o.learningRate, optimizer: 'adam', proximalMu: 0, augment: plan.augment, seed: 'cds' }, undefined, (p) => {
    if (Date.now() - lastPrint < 10_000 && p.done < p.total) return;
    lastPrint = Date.now();
    progress(`  CDS ${p.done}/${p.total} examples (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
  const columns: { name: string; scores: Scores[]; seconds: number }[] = [{ name: 'CDS', scores: evaluate(undefined, cds), seconds: (Date.now() - started) / 1000 }];

  // FL: the federation, once per strategy
  for (const strategy of o.strategies) {
    const name = `FL ${strategy === 'fedavg' ? 'Avg' : strategy === 'fedmedian' ? 'Median' : strategy}`;
    progress(`${name}: ${o.rounds} rounds × ${o.epochs} local epoch(s) over ${centres.length} centre processes`);
    const t0 = Date.now();
    const options: SimulationOptions = {
      trainer: 'tfjs',
      data: folders.root,
      model,
      inputSize: o.inputSize,
      centres: centres.length,
      rounds: o.rounds,
      params: 0,
      strategy,
      strategyParams: {},
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      optimizer: 'adam',
      deadlineMs: 3_600_000,
      evaluateEvery: 0,
      json: false,
      keep: false,
      histogramMatching: o.histogramMatching,
      ...(o.ledgerDir ? { ledgerDir: o.ledgerDir } : {}),
      ...(o.identityDir ? { identityDir: o.identityDir } : {}),
    };
    const result = await runExperiment(options, io, (event) => {
      if (event.event === 'round.completed') progress(`  ${name} round ${event.round} done (${((event.durationMs as number) / 1000).toFixed(1)} s)`);
    });
    if (!result.succeeded) throw new CliError(`${name}: the experiment ${result.experimentId} did not succeed (${result.state.reason ?? result.state.status})`);
    columns.push({ name, scores: evaluate(result.finalWeights), seconds: (Date.now() - t0) / 1000 });
  }

  const average = columns.map((c) => ({ auc: meanOf(c.scores.map((s) => s.auc)), accuracy: meanOf(c.scores.map((s) => s.accuracy)) }));
  if (o.json) {
    io.out(
      JSON.stringify({
        compare: { model, inputShape: plan.inputShape, histogramMatching: plan.landmarks !== undefined, rounds: o.rounds, epochsPerRound: o.epochs, cdsEpochs: epochs, split: 'patient-level 60/20/20, test patients', data: folders.root },
        centres: centres.map((c, i) => ({ centre: c, testExamples: datasets[i]!.test.n, ...Object.fromEntries(columns.map((col) => [col.name, col.scores[i]])) })),
        average: Object.fromEntries(columns.map((col, i) => [col.name, average[i]])),
        seconds: Object.fromEntries(columns.map((col) => [col.name, Math.round(col.seconds)])),
      }),
    );
    return 0;
  }
  const f = (v: number | null) => (v === null ? '–' : v.toFixed(3));
  const rows = [['centre', 'test', ...columns.map((c) => `${c.name} AUC`), ...columns.map((c) => `${c.name} acc`)]];
  centres.forEach((c, i) => rows.push([c, String(datasets[i]!.test.n), ...columns.map((col) => f(col.scores[i]!.auc)), ...columns.map((col) => f(col.scores[i]!.accuracy))]));
  rows.push(['Average', '', ...average.map((a) => f(a.auc)), ...average.map((a) => f(a.accuracy))]);
  io.out(`\n${model} on [${plan.inputShape.join('×')}], each centre's held-out test patients (AUC and accuracy):`);
  io.out(table(rows));
  io.out(`\n  time: ${columns.map((c) => `${c.name} ${c.seconds.toFixed(0)} s`).join(', ')}`);
  return 0;
}
