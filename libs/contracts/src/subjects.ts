import { createHash } from 'node:crypto';
import { principalToken, type Principal } from './principals';

/**
 * The one place for JetStream stream names and NATS subjects. Build subjects only through `subjects.*`:
 * every id is checked to be a single subject token, so an id can never widen a subscription or split
 * into extra tokens.
 */

/** Streams, each owning one subject prefix. Provisioned by the messaging layer from this table. */
export const streams = {
  /** Coordinator -> centres: TrainingTask on fl.tasks.<experiment>.<centre>. */
  FL_TASKS: { name: 'FL_TASKS', subjects: ['fl.tasks.>'] },
  /** Centres -> aggregator: ModelUpdate on fl.updates.<experiment>.<round>.<centre>. */
  FL_UPDATES: { name: 'FL_UPDATES', subjects: ['fl.updates.>'] },
  /** Aggregator -> coordinator: RoundAggregated on fl.aggregates.<experiment>.<round>. */
  FL_AGGREGATES: { name: 'FL_AGGREGATES', subjects: ['fl.aggregates.>'] },
  /** Lifecycle events for analysts, the passport registry and the coordinator: fl.events.<experiment>.<event>. */
  FL_EVENTS: { name: 'FL_EVENTS', subjects: ['fl.events.>'] },
  /** Centres -> coordinator: CentreHeartbeat on fl.heartbeats.<centre>. */
  FL_HEARTBEATS: { name: 'FL_HEARTBEATS', subjects: ['fl.heartbeats.>'] },
  /** Coordinator -> aggregator commands: RoundClose on fl.control.<experiment>.<round>.close. */
  FL_CONTROL: { name: 'FL_CONTROL', subjects: ['fl.control.>'] },
  /** Model weights as chunked blobs (claim check): fl.blobs.<blobId>.{c,m}. */
  FL_BLOBS: { name: 'FL_BLOBS', subjects: ['fl.blobs.>'] },
  /** ledger-indexer -> everyone: LedgerEventIndexed on ledger.events.<event name>.<subject id>, once a chaincode event is in the cache. */
  LEDGER_EVENTS: { name: 'LEDGER_EVENTS', subjects: ['ledger.events.>'] },
  /** Messages given up on, with their reason in headers: fl.dlq.<stream>.<consumer>. */
  FL_DLQ: { name: 'FL_DLQ', subjects: ['fl.dlq.>'] },
} as const satisfies Record<string, { name: string; subjects: readonly string[] }>;

export type StreamName = keyof typeof streams;

/** Thrown when an id cannot be used as a subject token. */
export class SubjectTokenError extends Error {
  override readonly name = 'SubjectTokenError';
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 128;

/** True when `value` can be one token of a subject (and a durable consumer name): letters, digits, '_' and '-'. */
export function isSubjectToken(value: string): boolean {
  return value.length <= MAX_TOKEN_LENGTH && TOKEN.test(value);
}

/**
 * Checks that an id can be a subject token; use it where ids enter the system (REST, CLI) to fail early.
 * @param what names the id in the error, e.g. "centreId".
 * @param subject the subject being built, for the error message.
 */
export function assertSubjectToken(value: string, what: string, subject = 'a subject'): string {
  if (typeof value !== 'string' || !isSubjectToken(value)) {
    const shown = typeof value === 'string' ? `'${value}'` : String(value);
    throw new SubjectTokenError(
      `invalid ${what} ${shown} for ${subject}: ids used in subjects must be 1..${MAX_TOKEN_LENGTH} letters, digits, ` +
        `'_' or '-' (NATS gives '.', '*', '>' and whitespace special meaning)`,
    );
  }
  return value;
}

function roundToken(round: number, subject: string): string {
  if (!Number.isSafeInteger(round) || round < 0) {
    throw new SubjectTokenError(`invalid round ${String(round)} for ${subject}: expected a non-negative integer`);
  }
  return String(round);
}

export type TaskSubject = `fl.tasks.${string}.${string}`;
export type UpdateSubject = `fl.updates.${string}.${string}.${string}`;
export type AggregateSubject = `fl.aggregates.${string}.${string}`;
export type EventSubject = `fl.events.${string}.${EventKind}`;
export type HeartbeatSubject = `fl.heartbeats.${string}`;
export type DeadLetterSubject = `fl.dlq.${string}.${string}`;

/** Typed subject builders: concrete subjects to publish on, and consumer filters (tasksForCentre, updatesForRound, experimentEvents, eventsOfKind). */
export const subjects = {
  /** Where the coordinator sends a centre its TrainingTask. */
  task(experimentId: string, centreId: string): TaskSubject {
    const s = 'fl.tasks.<experimentId>.<centreId>';
    return `fl.tasks.${assertSubjectToken(experimentId, 'experimentId', s)}.${assertSubjectToken(centreId, 'centreId', s)}`;
  },
  /** Filter for a centre's durable consumer: its tasks of every experiment. */
  tasksForCentre(centreId: string): TaskSubject {
    return `fl.tasks.*.${assertSubjectToken(centreId, 'centreId', 'fl.tasks.*.<centreId>')}`;
  },
  /** Where a centre sends its ModelUpdate for a round. */
  update(experimentId: string, round: number, centreId: string): UpdateSubject {
    const s = 'fl.updates.<experimentId>.<round>.<centreId>';
    const exp = assertSubjectToken(experimentId, 'experimentId', s);
    return `fl.updates.${exp}.${roundToken(round, s)}.${assertSubjectToken(centreId, 'centreId', s)}`;
  },
  /** Filter: all updates of one round. */
  updatesForRound(experimentId: string, round: number): `fl.updates.${string}.${string}.*` {
    const s = 'fl.updates.<experimentId>.<round>.*';
    return `fl.updates.${assertSubjectToken(experimentId, 'experimentId', s)}.${roundToken(round, s)}.*`;
  },
  /** Where the aggregator announces a round's aggregate (RoundAggregated). */
  aggregate(experimentId: string, round: number): AggregateSubject {
    const s = 'fl.aggregates.<experimentId>.<round>';
    return `fl.aggregates.${assertSubjectToken(experimentId, 'experimentId', s)}.${roundToken(round, s)}`;
  },
  /** RoundStarted events of an experiment. */
  roundStarted(experimentId: string): EventSubject {
    return event(experimentId, 'round.started');
  },
  /** RoundCompleted events of an experiment. */
  roundCompleted(experimentId: string): EventSubject {
    return event(experimentId, 'round.completed');
  },
  /** UpdateAccepted events of an experiment. */
  updateAccepted(experimentId: string): EventSubject {
    return event(experimentId, 'update.accepted');
  },
  /** Where the coordinator tells the aggregator to close a round (RoundClose). */
  roundClose(experimentId: string, round: number): `fl.control.${string}.${string}.close` {
    const s = 'fl.control.<experimentId>.<round>.close';
    return `fl.control.${assertSubjectToken(experimentId, 'experimentId', s)}.${roundToken(round, s)}.close`;
  },
  /** UpdateRejected events of an experiment. */
  updateRejected(experimentId: string): EventSubject {
    return event(experimentId, 'update.rejected');
  },
  /** A centre's TaskFailed: the centre's id ends the subject, so NATS permissions decide who may say it. */
  taskFailed(experimentId: string, centreId: string): `${EventSubject}.${string}` {
    return centreEvent(experimentId, 'task.failed', centreId);
  },
  /** A centre's EvaluationReported, ending with the centre's id as taskFailed does. */
  evaluationReported(experimentId: string, centreId: string): `${EventSubject}.${string}` {
    return centreEvent(experimentId, 'evaluation.reported', centreId);
  },
  roundEvaluated(experimentId: string): EventSubject {
    return event(experimentId, 'round.evaluated');
  },
  experimentCompleted(experimentId: string): EventSubject {
    return event(experimentId, 'experiment.completed');
  },
  /** Filter: every event of one experiment. */
  experimentEvents(experimentId: string): `fl.events.${string}.>` {
    return `fl.events.${assertSubjectToken(experimentId, 'experimentId', 'fl.events.<experimentId>.>')}.>`;
  },
  /** Filter: one kind of event across all experiments, e.g. `eventsOfKind('round.completed')` (a centre's kinds end with `.*`). */
  eventsOfKind(kind: EventKind): `fl.events.*.${EventKind}` | `fl.events.*.${EventKind}.*` {
    return isCentreEvent(kind) ? `fl.events.*.${kind}.*` : `fl.events.*.${kind}`;
  },
  /** Core NATS (not stored): a centre's task progress. */
  progress(experimentId: string, centreId: string): `fl.progress.${string}.${string}` {
    const s = 'fl.progress.<experimentId>.<centreId>';
    return `fl.progress.${assertSubjectToken(experimentId, 'experimentId', s)}.${assertSubjectToken(centreId, 'centreId', s)}`;
  },
  progressOf(experimentId: string): `fl.progress.${string}.*` {
    return `fl.progress.${assertSubjectToken(experimentId, 'experimentId', 'fl.progress.<experimentId>.*')}.*`;
  },
  /** Prefix of blob subjects, for the BlobStore: `fl.blobs.<writer scope>.<key>.…` (see blobScope). */
  blobPrefix: 'fl.blobs',
  /**
   * The blob scope a principal writes into (its blob ids start with it): `centre-<id>` for a centre, the service's
   * name for a service, `operator` for the command line. Only that principal may publish under it.
   */
  blobScope(principal: Principal): string {
    return principalToken(principal);
  },
  /** Where the ledger-indexer announces an indexed chaincode event (ids that are not subject tokens are hashed into one). */
  ledgerEvent(eventName: string, subjectId: string): `ledger.events.${string}.${string}` {
    const s = 'ledger.events.<eventName>.<subjectId>';
    const id = isSubjectToken(subjectId) ? subjectId : `h${createHash('sha256').update(subjectId).digest('hex').slice(0, 32)}`;
    return `ledger.events.${assertSubjectToken(eventName, 'eventName', s)}.${id}`;
  },
  /** Where a centre sends its CentreHeartbeat. */
  heartbeat(centreId: string): HeartbeatSubject {
    return `fl.heartbeats.${assertSubjectToken(centreId, 'centreId', 'fl.heartbeats.<centreId>')}`;
  },
  /** Core NATS (not a stream): every running instance of `service` answers a health request here. */
  health(service: string): `fedledger.health.${string}` {
    return `fedledger.health.${assertSubjectToken(service, 'service', 'fedledger.health.<service>')}`;
  },
  /** Where a message given up on by `consumer` of `stream` is dead-lettered. */
  deadLetter(stream: string, consumer: string): DeadLetterSubject {
    const s = 'fl.dlq.<stream>.<consumer>';
    return `fl.dlq.${assertSubjectToken(stream, 'stream', s)}.${assertSubjectToken(consumer, 'consumer', s)}`;
  },
} as const;

/** Event kinds a centre publishes: their subjects end with the centre's id. */
export const CENTRE_EVENT_KINDS = ['task.failed', 'evaluation.reported'] as const satisfies readonly EventKind[];
export function isCentreEvent(kind: EventKind): kind is (typeof CENTRE_EVENT_KINDS)[number] {
  return (CENTRE_EVENT_KINDS as readonly string[]).includes(kind);
}

/** Event kinds under fl.events.<experiment>. */
export const EVENT_KINDS = [
  'round.started',
  'round.completed',
  'update.accepted',
  'update.rejected',
  'task.failed',
  'evaluation.reported',
  'round.evaluated',
  'experiment.completed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

function centreEvent(experimentId: string, kind: EventKind, centreId: string): `${EventSubject}.${string}` {
  return `${event(experimentId, kind)}.${assertSubjectToken(centreId, 'centreId', `fl.events.<experimentId>.${kind}.<centreId>`)}`;
}

function event(experimentId: string, kind: EventKind): EventSubject {
  return `fl.events.${assertSubjectToken(experimentId, 'experimentId', `fl.events.<experimentId>.${kind}`)}.${kind}`;
}
