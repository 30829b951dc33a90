import { parseArgs } from 'node:util';
import type { StrategyName } from '@fedledger/contracts';
import { parseCommandArgs } from '../args';
import { UsageError } from '../errors';
import type { Io } from '../io';
import { runSimulation } from '../simulation/run-simulation';
import type { Command } from './command';

const STRATEGIES: readonly StrategyName[] = ['fedavg', 'fedavgm', 'fedprox', 'fedmedian', 'fedtrimmedavg', 'krum', 'multikrum', 'bulyan', 'fedadam', 'fedyogi', 'fedadagrad'];

const help = `Usage: fedledger simulate [--trainer noop] [--centres 5] [--rounds 3] [--params 100000] [--strategy fedavg] [--json]

Runs a whole federation on this machine: a nats-server, the round-coordinator, the aggregator and one
centre-agent process per centre, all on 127.0.0.1; creates an experiment through the coordinator's REST API,
prints its events as they happen, stops everything and exits 0 when the experiment succeeded.

Options:
  --trainer <name>         noop (global weights slightly perturbed: round overhead only) or
                           tfjs (trains the dense-test model with TensorFlow.js on per-centre synthetic data)
  --centres <n>            centres taking part (default 5)
  --rounds <n>             federated rounds (default 3)
  --params <n>             model parameters (float32) (default 100000)
  --strategy <name>        ${STRATEGIES.join(', ')} (default fedavg)
  --strategy-param k=v     a strategy parameter, e.g. proximal_mu=0.1 (repeatable)
  --epochs <n>             local epochs per round (default 1)
  --lr <rate>              local learning rate (default 0.1)
  --min-fit <n>            fewest updates for a round to count (default: all centres)
  --deadline-ms <ms>       round deadline (default 120000)
  --evaluate-every <k>     the centres evaluate the aggregate every k rounds and after the last (default 0: never)
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
          trainer: { type: 'string', default: 'noop' },
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
    const learningRate = values.lr === undefined ? 0.1 : Number(values.lr);
    if (!(learningRate > 0 && learningRate <= 10)) throw new UsageError(`--lr must be a number in (0, 10], got '${values.lr}'`, 'simulate');
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
        centres,
        rounds: positiveInt('--rounds', values.rounds, 3),
        params: positiveInt('--params', values.params, 100_000),
        strategy,
        strategyParams,
        epochs: positiveInt('--epochs', values.epochs, 1),
        minFit: Math.min(centres, positiveInt('--min-fit', values['min-fit'], centres)),
        deadlineMs: positiveInt('--deadline-ms', values['deadline-ms'], 120_000),
        evaluateEvery: values['evaluate-every'] === '0' ? 0 : positiveInt('--evaluate-every', values['evaluate-every'], 0),
        json: values.json === true,
        keep: values.keep === true,
      },
      io,
    );
  },
};
