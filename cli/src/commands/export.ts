import { connectAsOperator } from '../nats-connection';
import { parseArgs } from 'node:util';
import { OPERATOR, streams, subjects, type ExperimentState } from '@fedledger/contracts';
import { decodeWeights } from '@fedledger/fl-core';
import { BlobStore } from '@fedledger/messaging';
import { exportTfjsModel } from '@fedledger/training';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import type { Io } from '../io';
import { MODEL_ARTEFACT, writeModelFolder } from '../model-artefact';
import type { Command } from './command';

const help = `Usage: fedledger export <experiment> <dir> [--round <n>] [--api <url>] [--nats <url>]

Writes the experiment's global model (after its last round, or after --round n) as a TensorFlow.js layers
model: <dir>/model.json and <dir>/weights.bin, checked against the aggregate's digest, and the aggregate
itself as <dir>/model.flw (the artefact \`fedledger passport verify\` checks); prints the digests of the files
(tf.loadLayersModel('file://<dir>/model.json') loads the model).`;

export const exportCommand: Command = {
  name: 'export',
  summary: "write an experiment's model in TensorFlow.js format, with its digest",
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('export', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { round: { type: 'string' }, api: { type: 'string' }, nats: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const [id, dir] = positionals;
    if (!id || !dir || positionals.length > 2) throw new UsageError('give an experiment id and an output directory', 'export');
    const api = (values.api ?? process.env.FEDLEDGER_API ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
    const res = await fetch(`${api}/experiments/${encodeURIComponent(id)}`).catch((err: Error) => {
      throw new CliError(`cannot reach the round-coordinator at ${api}: ${err.message}`);
    });
    if (!res.ok) throw new CliError(`experiment ${id}: ${res.status} ${await res.text()}`);
    const state = (await res.json()) as ExperimentState;
    const round = values.round === undefined ? state.completedRounds[state.completedRounds.length - 1] : state.completedRounds.find((r) => r.round === Number(values.round));
    if (!round) throw new CliError(`experiment ${id} has no completed round${values.round === undefined ? '' : ` ${values.round}`} to export`);
    const connection = await connectAsOperator(values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'fedledger-export');
    try {
      const store = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: subjects.blobScope(OPERATOR) });
      const bytes = await store.getBytes(round.aggregate); // digest checked against the round's record
      const weights = decodeWeights(bytes);
      const files = await exportTfjsModel(state.plan.modelArchitecture, weights, state.plan.data?.inputShape);
      await writeModelFolder(dir, bytes, files);
      io.out(`exported round ${round.round} of ${id} (aggregate sha256 ${round.aggregate.sha256}) to ${dir}`);
      io.out(`  model.json   sha256 ${files.modelJsonSha256}`);
      io.out(`  weights.bin  sha256 ${files.weightsSha256}`);
      io.out(`  ${MODEL_ARTEFACT}    sha256 ${round.aggregate.sha256} (the aggregate itself, as recorded on the experiment's passport)`);
      return 0;
    } finally {
      await connection.drain();
    }
  },
};
