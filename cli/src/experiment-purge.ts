import { assertSubjectToken, ModelUpdate, OPERATOR, streams, subjects, type ExperimentState, type StoredBlobRef } from '@fedledger/contracts';
import { BlobStore, type JetStreamConnection } from '@fedledger/messaging';
import { CliError } from './errors';

/** What `fedledger experiment purge` removes, keeps, and frees. */
export interface PurgeReport {
  experimentId: string;
  dryRun: boolean;
  /** Blobs deleted (or that a dry run would delete), each with why the experiment had it. */
  deleted: { blobId: string; what: string; sizeBytes?: number }[];
  /** Blobs kept: the final model unless --all. */
  kept: { blobId: string; what: string }[];
  /** Messages purged per stream (a dry run: how many there are). */
  messages: Record<string, number>;
  /** FL_BLOBS bytes before and after (the same in a dry run). */
  blobBytes: { before: number; after: number };
}

const ENDED = new Set(['completed', 'failed', 'aborted']);

/**
 * Removes what an ended experiment left in JetStream: the blobs it made or used (initial weights, every round's
 * aggregate and server-optimiser state, every update, including rejected ones still in FL_UPDATES), then its tasks,
 * updates, aggregates and control messages. Kept: its events (FL_EVENTS, the history `fedledger events` replays), its
 * state in the coordinator, its passport on the ledger (which holds the digests, not the weights), and — unless
 * `all` — the final model, which `fedledger export` reads.
 */
export async function purgeExperiment(connection: JetStreamConnection, state: ExperimentState, o: { all: boolean; dryRun: boolean }): Promise<PurgeReport> {
  const id = assertSubjectToken(state.plan.id, 'experiment id');
  if (!ENDED.has(state.status)) throw new CliError(`experiment ${id} is ${state.status}: only an experiment that ended (completed, failed or aborted) can be purged; abort it first`);

  const found = new Map<string, { what: string; sizeBytes?: number }>();
  const add = (ref: StoredBlobRef | { blobId?: string | null; sizeBytes?: unknown } | undefined | null, what: string) => {
    if (!ref?.blobId || found.has(ref.blobId)) return;
    found.set(ref.blobId, { what, ...(typeof ref.sizeBytes === 'number' ? { sizeBytes: ref.sizeBytes } : {}) });
  };
  add(state.plan.initialWeights, 'initial weights');
  for (const r of state.completedRounds) {
    add(r.aggregate, `round ${r.round} aggregate`);
    // The aggregator stores a round's server-optimiser state next to its aggregate: key s<k> for aggregate a<k>.
    const companion = /^(.+)\.a([0-9a-f]+)$/.exec(r.aggregate.blobId);
    if (companion) add({ blobId: `${companion[1]}.s${companion[2]}` }, `round ${r.round} server-optimiser state`);
    for (const [centre, update] of Object.entries(r.results)) add(update.weights, `round ${r.round} update of ${centre}`);
  }
  if (state.current) {
    add(state.current.globalWeights, `round ${state.current.round} global weights`);
    for (const [centre, update] of Object.entries(state.current.accepted)) add(update.weights, `round ${state.current.round} update of ${centre}`);
  }
  add(state.strategyState, 'final server-optimiser state');
  // Updates the state does not name (rejected, or sent after the round closed), while FL_UPDATES still has them.
  for (const update of await updatesOf(connection, id)) add(update.weights, `round ${update.round} update of ${update.centreId} (from FL_UPDATES)`);

  const kept = o.all ? [] : [{ blobId: state.globalWeights.blobId, what: 'final model (fedledger export reads it; --all deletes it too)' }];
  const deleted = [...found].filter(([blobId]) => !kept.some((k) => k.blobId === blobId)).map(([blobId, v]) => ({ blobId, ...v }));
  const filters: [string, string][] = [
    [streams.FL_TASKS.name, `fl.tasks.${id}.>`],
    [streams.FL_UPDATES.name, `fl.updates.${id}.>`],
    [streams.FL_AGGREGATES.name, `fl.aggregates.${id}.>`],
    [streams.FL_CONTROL.name, `fl.control.${id}.>`],
  ];

  const blobBytes = async () => (await connection.jsm.streams.info(streams.FL_BLOBS.name)).state.bytes;
  const before = await blobBytes();
  const messages: Record<string, number> = {};
  if (o.dryRun) {
    for (const [stream, filter] of filters) messages[stream] = await countOf(connection, stream, filter);
    return { experimentId: id, dryRun: true, deleted, kept, messages, blobBytes: { before, after: before } };
  }
  const store = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: subjects.blobScope(OPERATOR) });
  for (const blob of deleted) await store.delete(blob.blobId);
  for (const [stream, filter] of filters) messages[stream] = (await connection.jsm.streams.purge(stream, { filter }).catch((err: Error) => streamError(err, stream))).purged;
  return { experimentId: id, dryRun: false, deleted, kept, messages, blobBytes: { before, after: await blobBytes() } };
}

/** The updates FL_UPDATES holds for an experiment (read with an ordered consumer, which leaves no state behind). */
async function updatesOf(connection: JetStreamConnection, id: string): Promise<ModelUpdate[]> {
  const pending = await countOf(connection, streams.FL_UPDATES.name, `fl.updates.${id}.>`);
  if (pending === 0) return [];
  const consumer = await connection.js.consumers.get(streams.FL_UPDATES.name, { filter_subjects: [`fl.updates.${id}.>`] });
  const updates: ModelUpdate[] = [];
  const messages = await consumer.fetch({ max_messages: pending, expires: 10_000 });
  for await (const m of messages) {
    try {
      updates.push(ModelUpdate.decode(m.data));
    } catch {
      // Not an update (the aggregator rejected and dead-lettered it): it names no blob we could trust.
    }
    if (m.info.pending === 0) break;
  }
  return updates;
}

/** Messages of a stream on a subject filter. */
async function countOf(connection: JetStreamConnection, stream: string, filter: string): Promise<number> {
  const info = await connection.jsm.streams.info(stream, { subjects_filter: filter }).catch((err: Error) => streamError(err, stream));
  return Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0);
}

function streamError(err: Error, stream: string): never {
  throw new CliError(`cannot read stream ${stream}: ${err.message}`);
}
