import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StrategyName } from '@fedledger/contracts';
import { parseCommandArgs } from '../args';
import { UsageError } from '../errors';
import type { Io } from '../io';
import { runCompare } from '../simulation/compare';
import type { Command } from './command';

const help = `Usage: fedledger compare [--data <dir>] [--rounds 3] [--epochs 1] [--model small-cnn] [--json]

Reproduces the seed's comparison on the centres of --data (default: the synthetic centres in .data/synth):
CDS — the model trained centrally on all centres' training patients pooled, for rounds × epochs epochs —
against the same model trained federated (real processes, as simulate) with FedMedian and FedAvg. Each is
evaluated on every centre's held-out test patients (patient-level split 60/20/20, seed 1; nobody trains on
them). Prints one row per centre and the average over centres; --json prints the numbers.

Options:
  --data <dir>             a folder of centre folders (default .data/synth, generated when absent)
  --model <name>           zoo model (default small-cnn for images, mlp for tables)
  --input-size <px>        images are resized to px × px (default 64)
  --rounds <n>             federated rounds (default 3)
  --epochs <n>             local epochs per round (default 1); CDS trains rounds × epochs epochs
  --batch-size <n>         mini-batch (default 32)
  --lr <rate>              Adam learning rate (default 0.0005; at 0.001 the small CNN can die on this data)
  --strategies <a,b>       federated strategies to compare (default fedmedian,fedavg)
  --no-histogram-matching  leave the images' intensities as each scanner made them (to measure what matching brings)
  --ledger-dir <dir>       the embedded ledger the federated runs' AI passports go on (default .data/ledger)
  --identity-dir <dir>     the organisations' identities (default .data/identities; created when absent)
  --json                   the table as one JSON object on stdout`;

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`, 'compare');
  return Number(value);
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'centralised training (CDS) against federated FedMedian and FedAvg, per centre, as the seed compared them',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values } = parseCommandArgs('compare', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          data: { type: 'string' },
          model: { type: 'string' },
          'input-size': { type: 'string' },
          rounds: { type: 'string' },
          epochs: { type: 'string' },
          'batch-size': { type: 'string' },
          lr: { type: 'string' },
          strategies: { type: 'string', default: 'fedmedian,fedavg' },
          'no-histogram-matching': { type: 'boolean', default: false },
          'ledger-dir': { type: 'string' },
          'identity-dir': { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const strategies = values.strategies.split(',').map((s) => s.trim()) as StrategyName[];
    for (const s of strategies) {
      if (!['fedavg', 'fedmedian', 'fedtrimmedavg', 'fedprox', 'krum', 'multikrum', 'bulyan', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'].includes(s)) {
        throw new UsageError(`--strategies: unknown strategy '${s}'`, 'compare');
      }
    }
    const learningRate = values.lr === undefined ? 0.0005 : Number(values.lr);
    if (!(learningRate > 0 && learningRate <= 10)) throw new UsageError(`--lr must be a number in (0, 10], got '${values.lr}'`, 'compare');
    return runCompare(
      {
        ...(values.data !== undefined ? { data: path.resolve(io.cwd, values.data) } : {}),
        ...(values.model !== undefined ? { model: values.model } : {}),
        inputSize: positiveInt('--input-size', values['input-size'], 64),
        rounds: positiveInt('--rounds', values.rounds, 3),
        epochs: positiveInt('--epochs', values.epochs, 1),
        batchSize: positiveInt('--batch-size', values['batch-size'], 32),
        learningRate,
        strategies,
        histogramMatching: values['no-histogram-matching'] !== true,
        ...(values['ledger-dir'] !== undefined ? { ledgerDir: path.resolve(io.cwd, values['ledger-dir']) } : {}),
        ...(values['identity-dir'] !== undefined ? { identityDir: path.resolve(io.cwd, values['identity-dir']) } : {}),
        json: values.json === true,
      },
      io,
    );
  },
};
