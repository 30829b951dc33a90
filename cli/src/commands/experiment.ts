import { connectAsOperator } from '../nats-connection';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { OPERATOR, streams, subjects, type ExperimentState } from '@fedledger/contracts';
import { decodeWeights, encodeWeights } from '@fedledger/fl-core';
import { signedJsonPost, type Identity } from '@fedledger/identity';
import { DEFAULT_IDENTITY_DIR } from '@fedledger/ledger-host';
import { BlobStore } from '@fedledger/messaging';
import { initialWeightsOf } from '@fedledger/training';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { purgeExperiment, type PurgeReport } from '../experiment-purge';
import { loadCaller, refusals } from '../ledger-client';
import type { Io } from '../io';
import type { Command } from './command';

const help = `Usage: fedledger experiment <action> [args] [--as <org>/<user>] [--api <url>] [--nats <url>]

Actions:
  create <plan.yaml|plan.json> [--start]   create an experiment from a plan file (and start it)
  list                                     experiments with their status
  show <id>                                an experiment's full state (JSON)
  start|pause|resume|abort <id>            control an experiment
  purge <id> [--all] [--dry-run] [--json]  free what an ended experiment keeps in JetStream (see below)

A plan file holds the fields of POST /experiments (see the coordinator's /docs). Its initialWeights may be
a blob reference {blobId, sha256, sizeBytes}, {file: <path to an FLW1 weights file>} or
{architecture: <registered model>}; files and architectures are uploaded to the blob store first.

create, start, pause, resume and abort are signed by the identity --as names (a developer or an organisation
admin creates; only the experiment's creator or an admin of its organisation controls it).

purge deletes the blobs of an ended experiment (initial weights, every round's aggregate and optimiser state, every
update) and its tasks, updates, aggregates and control messages, as the NATS operator (NATS_NKEY_SEED_FILE, or the
local stack's). It keeps the experiment's events, its state and its passport, and the final model unless --all
(export it first: fedledger export). --dry-run lists what would go.

Options:
  --as <org>/<user>     who signs the request (default $FEDLEDGER_AS); required for writes
  --identity-dir <dir>  where the identities live (default ${DEFAULT_IDENTITY_DIR})
  --api <url>           round-coordinator REST API (default $FEDLEDGER_API or http://127.0.0.1:8080)
  --nats <url>          NATS, for uploading initial weights (default $NATS_URL or nats://127.0.0.1:4222)`;

/** Who signs the writes: resolved only when one is made, so reads need no identity. */
type SignerOf = () => Promise<Identity>;

async function call(api: string, method: 'GET' | 'POST', pathname: string, body?: unknown, signer?: SignerOf): Promise<unknown> {
  let res: Response;
  let init: RequestInit = { method };
  if (method === 'POST') {
    if (!signer) throw new Error(`POST ${pathname} needs a signer`);
    init = signedJsonPost(await signer(), pathname, body);
  }
  try {
    res = await fetch(`${api}${pathname}`, init);
  } catch (err) {
    throw new CliError(`cannot reach the round-coordinator at ${api}: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      const j = JSON.parse(text) as { message?: string; problems?: string[] };
      detail = j.problems ? `${j.problems.length} problem(s):\n  ${j.problems.join('\n  ')}` : (j.message ?? text);
    } catch {
      // not JSON: show as is
    }
    throw new CliError(`${method} ${pathname} failed (${res.status}): ${detail}`);
  }
  return JSON.parse(text) as unknown;
}

/** Turns `initialWeights: {file}` or `{architecture}` into a stored blob reference. */
async function resolveInitialWeights(plan: Record<string, unknown>, planFile: string, nats: string): Promise<void> {
  const spec = plan.initialWeights as Record<string, unknown> | undefined;
  if (!spec || typeof spec !== 'object' || 'blobId' in spec) return;
  let bytes: Uint8Array;
  if (typeof spec.file === 'string') {
    const file = path.resolve(path.dirname(planFile), spec.file);
    bytes = await readFile(file).catch((err: Error) => {
      throw new CliError(`${planFile}: initialWeights.file ${file}: ${err.message}`);
    });
    try {
      decodeWeights(bytes);
    } catch (err) {
      throw new CliError(`${planFile}: initialWeights.file ${file} is not an FLW1 weights file: ${(err as Error).message}`);
    }
  } else if (typeof spec.architecture === 'string') {
    bytes = encodeWeights(await initialWeightsOf(spec.architecture));
    plan.modelArchitecture ??= spec.architecture;
  } else {
    throw new CliError(`${planFile}: initialWeights must be a blob reference, {file: ...} or {architecture: ...}`);
  }
  const connection = await connectAsOperator(nats, 'fedledger-experiment').catch((err: Error) => {
    throw new CliError(`${err.message} (needed to upload the initial weights)`);
  });
  try {
    const store = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: subjects.blobScope(OPERATOR) });
    plan.initialWeights = await store.put(bytes);
  } finally {
    await connection.drain();
  }
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'create experiments from plan files and control them through the coordinator',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('experiment', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          as: { type: 'string' },
          'identity-dir': { type: 'string', default: DEFAULT_IDENTITY_DIR },
          api: { type: 'string' },
          nats: { type: 'string' },
          start: { type: 'boolean', default: false },
          all: { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true || positionals.length === 0) {
      io.out(help);
      return 2;
    }
    const api = (values.api ?? process.env.FEDLEDGER_API ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
    const nats = values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    const [action, arg] = positionals;
    const as = values.as ?? process.env.FEDLEDGER_AS;
    const signer: SignerOf = async () => {
      if (!as) throw new UsageError(`${action} is signed by its caller: give --as <org>/<user> (or set FEDLEDGER_AS), e.g. --as ub/dev-1`, 'experiment');
      return refusals(() => loadCaller(path.resolve(io.cwd, values['identity-dir']), as, 'experiment'));
    };
    const print = (v: unknown) => io.out(JSON.stringify(v, null, 2));
    switch (action) {
      case 'create': {
        if (!arg) throw new UsageError('create needs a plan file', 'experiment');
        const text = await readFile(arg, 'utf8').catch((err: Error) => {
          throw new CliError(`cannot read plan ${arg}: ${err.message}`);
        });
        let plan: Record<string, unknown>;
        try {
          plan = (/\.json$/i.test(arg) ? JSON.parse(text) : parseYaml(text)) as Record<string, unknown>;
        } catch (err) {
          throw new CliError(`${arg} is not valid ${/\.json$/i.test(arg) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
        }
        if (!plan || typeof plan !== 'object' || Array.isArray(plan)) throw new CliError(`${arg}: a plan is a mapping of fields`);
        await signer(); // a missing or unknown identity is named before anything is uploaded
        await resolveInitialWeights(plan, arg, nats);
        const created = (await call(api, 'POST', '/experiments', plan, signer)) as { plan: { id: string } };
        io.out(`created experiment ${created.plan.id}`);
        if (values.start) {
          await call(api, 'POST', `/experiments/${created.plan.id}/start`, undefined, signer);
          io.out(`started experiment ${created.plan.id}; follow it with \`fedledger events ${created.plan.id} --follow\``);
        }
        return 0;
      }
      case 'list':
        print(await call(api, 'GET', '/experiments'));
        return 0;
      case 'show':
        if (!arg) throw new UsageError('show needs an experiment id', 'experiment');
        print(await call(api, 'GET', `/experiments/${encodeURIComponent(arg)}`));
        return 0;
      case 'start':
      case 'pause':
      case 'resume':
      case 'abort': {
        if (!arg) throw new UsageError(`${action} needs an experiment id`, 'experiment');
        const state = (await call(api, 'POST', `/experiments/${encodeURIComponent(arg)}/${action}`, undefined, signer)) as { status: string };
        io.out(`experiment ${arg} is ${state.status}`);
        return 0;
      }
      case 'purge': {
        if (!arg) throw new UsageError('purge needs an experiment id', 'experiment');
        const state = (await call(api, 'GET', `/experiments/${encodeURIComponent(arg)}`)) as ExperimentState;
        const connection = await connectAsOperator(nats, 'fedledger-purge');
        try {
          const report = await purgeExperiment(connection, state, { all: values.all, dryRun: values['dry-run'] });
          if (values.json) io.out(JSON.stringify(report));
          else printPurge(report, io);
        } finally {
          await connection.drain();
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown action '${action}' (create, list, show, start, pause, resume, abort, purge)`, 'experiment');
    }
  },
};

function printPurge(r: PurgeReport, io: Io): void {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const verb = r.dryRun ? 'would delete' : 'deleted';
  io.out(`experiment ${r.experimentId}: ${verb} ${r.deleted.length} blob${r.deleted.length === 1 ? '' : 's'}${r.dryRun ? ` (${mb(r.deleted.reduce((n, b) => n + (b.sizeBytes ?? 0), 0))} named by their references)` : `, FL_BLOBS ${mb(r.blobBytes.before)} -> ${mb(r.blobBytes.after)}`}`);
  for (const b of r.deleted) io.out(`  ${b.what}: ${b.blobId}`);
  for (const k of r.kept) io.out(`kept ${k.what}: ${k.blobId}`);
  io.out(`${r.dryRun ? 'messages that would be purged' : 'messages purged'}: ${Object.entries(r.messages).map(([s, n]) => `${s} ${n}`).join(', ')}; its events (FL_EVENTS), state and passport stay`);
}
