import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StrategyName } from '@fedledger/contracts';
import { parseCommandArgs } from '../args';
import { UsageError } from '../errors';
import type { Io } from '../io';
import { runSimulation } from '../simulation/run-simulation';
import type { Command } from './command';

const STRATEGIES: readonly StrategyName[] = ['fedavg', 'fedavgm', 'fedprox', 'fedmedian', 'fedtrimmedavg', 'krum', 'multikrum', 'bulyan', 'fedadam', 'fedyogi', 'fedadagrad'];

const help = `Usage: fedledger simulate [--data <dir>] [--model small-cnn] [--rounds 5] [--epochs 1] [--strategy fedavg] [--json]
       fedledger simulate --trainer noop [--centres 5] [--params 100000] [--rounds 3] [--json]

Runs a whole federation on this machine: a nats-server, the round-coordinator, the aggregator and one
centre-agent process per centre, all on 127.0.0.1, and the passport-registry on the local ledger; puts the
experiment's AI passport, the centres' datasets and their grants on the ledger, creates the experiment through
the coordinator's REST API, shows each centre's progress and a row per round, then the final model's metrics at
every centre, where the model is, and the passport with every round recorded (its id is printed). Exits 0 when
the experiment succeeded.

With the tfjs trainer (the default) every centre trains on its own folder of --data: DICOM or PNG images
with labels.csv (or data.csv for a table); images are histogram-matched to landmarks learnt from the
reference centre (inbreast), resized, normalised, split by patient (60 % train, 20 % validation, 20 % test).
Without --data, five synthetic centres are generated once in .data/synth (fedledger data synth).

Options:
  --data <dir>             a folder of centre folders (default .data/synth, generated when absent)
  --model <name>           ${'zoo model: small-cnn (default for images), mlp (default for tables), resnet18, ...'}
  --input-size <px>        images are resized to px × px (default 64)
  --rounds <n>             federated rounds (default 5; 3 with --trainer noop)
  --epochs <n>             local epochs per round (default 1)
  --strategy <name>        ${STRATEGIES.join(', ')} (default fedavg)
  --strategy-param k=v     a strategy parameter, e.g. proximal_mu=0.1 (repeatable)
  --lr <rate>              local learning rate (default 0.0005 with adam for tfjs, 0.1 otherwise)
  --optimizer <name>       local optimiser: adam (default for tfjs) or sgd
  --batch-size <n>         local mini-batch (default 32)
  --min-fit <n>            fewest updates for a round to count (default: all centres)
  --deadline-ms <ms>       round deadline (default 600000)
  --evaluate-every <k>     the centres evaluate the aggregate every k rounds and after the last
                           (default 1 for tfjs, 0 for noop)
  --out <dir>              where the final model goes (default .data/models/<experiment>)
  --ledger-dir <dir>       the embedded ledger the experiment's AI passport goes on (default .data/ledger)
  --identity-dir <dir>     the organisations' identities (default .data/identities; created when absent)
  --ledger <kind>          embedded (default) or fabric: the network of \`fedledger up --ledger fabric\`, used by
                           default while it runs (only its organisations, UB and InBreast, register datasets)
  --no-histogram-matching  leave the images' intensities as each scanner made them
  --trainer <name>         tfjs (default) or noop: global weights slightly perturbed, no data (round overhead)
  --centres <n>            noop: centres taking part (default 5)
  --params <n>             noop: model parameters (float32) (default 100000)
  --json                   one JSON line per event on stdout (progress stays on stderr)
  --keep                   keep the logs and data directory`;

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`, 'simulate');
  return n;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run a federation of real services on this machine and print its events',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values } = parseCommandArgs('simulate', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          trainer: { type: 'string', default: 'tfjs' },
          data: { type: 'string' },
          model: { type: 'string' },
          'input-size': { type: 'string' },
          optimizer: { type: 'string' },
          'batch-size': { type: 'string' },
          out: { type: 'string' },
          'ledger-dir': { type: 'string' },
          'identity-dir': { type: 'string' },
          ledger: { type: 'string' },
          'no-histogram-matching': { type: 'boolean', default: false },
          centres: { type: 'string' },
          rounds: { type: 'string' },
          params: { type: 'string' },
          strategy: { type: 'string', default: 'fedavg' },
          'strategy-param': { type: 'string', multiple: true },
          epochs: { type: 'string' },
          lr: { type: 'string' },
          'min-fit': { type: 'string' },
          'deadline-ms': { type: 'string' },
          'evaluate-every': { type: 'string' },
          json: { type: 'boolean', default: false },
          keep: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const trainer = values.trainer;
    if (trainer !== 'noop' && trainer !== 'tfjs') throw new UsageError(`--trainer must be noop or tfjs, got '${values.trainer}'`, 'simulate');
    const tfjs = trainer === 'tfjs';
    const learningRate = values.lr === undefined ? (tfjs ? 0.0005 : 0.1) : Number(values.lr);
    if (!(learningRate > 0 && learningRate <= 10)) throw new UsageError(`--lr must be a number in (0, 10], got '${values.lr}'`, 'simulate');
    const optimizer = values.optimizer ?? (tfjs ? 'adam' : 'sgd');
    if (optimizer !== 'adam' && optimizer !== 'sgd') throw new UsageError(`--optimizer must be adam or sgd, got '${values.optimizer}'`, 'simulate');
    if (!tfjs && (values.data !== undefined || values.model !== undefined)) throw new UsageError('--data and --model need the tfjs trainer', 'simulate');
    const strategy = values.strategy as StrategyName;
    if (!STRATEGIES.includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got '${values.strategy}'`, 'simulate');
    const strategyParams: Record<string, number> = {};
    for (const kv of values['strategy-param'] ?? []) {
      const m = /^([a-z_0-9]+)=(-?[0-9.eE+-]+)$/.exec(kv);
      if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`--strategy-param must look like name=number, got '${kv}'`, 'simulate');
      strategyParams[m[1]!] = Number(m[2]);
    }
    const centres = positiveInt('--centres', values.centres, 5);
    return runSimulation(
      {
        trainer,
        learningRate,
        optimizer,
        centres,
        rounds: positiveInt('--rounds', values.rounds, tfjs ? 5 : 3),
        params: positiveInt('--params', values.params, 100_000),
        strategy,
        strategyParams,
        epochs: positiveInt('--epochs', values.epochs, 1),
        batchSize: positiveInt('--batch-size', values['batch-size'], 32),
        inputSize: positiveInt('--input-size', values['input-size'], 64),
        ...(values['min-fit'] !== undefined ? { minFit: positiveInt('--min-fit', values['min-fit'], centres) } : {}),
        deadlineMs: positiveInt('--deadline-ms', values['deadline-ms'], 600_000),
        evaluateEvery: values['evaluate-every'] === '0' ? 0 : positiveInt('--evaluate-every', values['evaluate-every'], tfjs ? 1 : 0),
        ...(values.data !== undefined ? { data: path.resolve(io.cwd, values.data) } : {}),
        ...(values.model !== undefined ? { model: values.model } : {}),
        ...(values.out !== undefined ? { out: path.resolve(io.cwd, values.out) } : {}),
        ...(values['ledger-dir'] !== undefined ? { ledgerDir: path.resolve(io.cwd, values['ledger-dir']) } : {}),
        ...(values['identity-dir'] !== undefined ? { identityDir: path.resolve(io.cwd, values['identity-dir']) } : {}),
        ...(values.ledger !== undefined ? { ledger: values.ledger } : {}),
        histogramMatching: values['no-histogram-matching'] !== true,
        json: values.json === true,
        keep: values.keep === true,
      },
      io,
    );
  },
};
