import { kvBuckets } from './experiment-state';

/**
 * Who connects to NATS, and what each may do there: the least-privilege table the local stack's nats-server is
 * configured from (`fedledger up`, `fedledger simulate`). Kept next to the subject table so a new subject and its
 * permission change together; docs/security.md explains the model.
 */

/** The services of the platform that connect to NATS (a centre-agent connects as its centre). */
export const NATS_SERVICES = ['round-coordinator', 'aggregator', 'passport-registry', 'ledger-indexer'] as const;
export type NatsService = (typeof NATS_SERVICES)[number];

/** A NATS principal: one centre, one platform service, or the operator (the `fedledger` command line, an admin). */
export type Principal = { kind: 'centre'; centreId: string } | { kind: 'service'; service: NatsService } | { kind: 'operator' };

export const centrePrincipal = (centreId: string): Principal => ({ kind: 'centre', centreId });
export const servicePrincipal = (service: NatsService): Principal => ({ kind: 'service', service });
export const OPERATOR: Principal = { kind: 'operator' };

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** One subject token naming the principal: `centre-<id>`, the service's name, or `operator`. */
export function principalToken(p: Principal): string {
  switch (p.kind) {
    case 'centre':
      if (!TOKEN.test(p.centreId)) throw new Error(`invalid centre id '${p.centreId}': expected 1..128 letters, digits, '_' or '-'`);
      return `centre-${p.centreId}`;
    case 'service':
      return p.service;
    case 'operator':
      return 'operator';
  }
}

/** Parses what principalToken wrote (credential file names, `NATS_PRINCIPAL`). */
export function parsePrincipal(token: string): Principal {
  if (token === 'operator') return OPERATOR;
  if ((NATS_SERVICES as readonly string[]).includes(token)) return servicePrincipal(token as NatsService);
  const centre = /^centre-(.+)$/.exec(token)?.[1];
  if (centre !== undefined && TOKEN.test(centre)) return centrePrincipal(centre);
  throw new Error(`unknown NATS principal '${token}': expected centre-<id>, operator or one of ${NATS_SERVICES.join(', ')}`);
}

/**
 * Where the principal's request replies arrive (the client's `inboxPrefix`). Per principal, so that nobody can
 * subscribe to another's replies — pulled JetStream messages (a centre's tasks) are delivered to the puller's inbox.
 */
export function inboxPrefix(p: Principal): string {
  return `_INBOX.${principalToken(p)}`;
}

/** nats-server `permissions` of one user. */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** May answer requests it received (health checks). */
  allow_responses: boolean;
}

const API = '$JS.API';
const DLQ = 'FL_DLQ';

/** Create (also update), info, next message and acks of the durable consumers of `stream` (any name). */
function consumerApi(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.>`,
    `${API}.CONSUMER.DELETE.${stream}.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
  ];
}

/** Provisioning a stream the principal owns: create, update, info. */
function streamApi(stream: string): string[] {
  return [`${API}.STREAM.CREATE.${stream}`, `${API}.STREAM.UPDATE.${stream}`, `${API}.STREAM.INFO.${stream}`];
}

/** A key-value bucket: its stream, its keys, direct reads and the watchers' ordered consumers. */
function kvApi(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [...streamApi(stream), `${API}.STREAM.MSG.GET.${stream}`, `${API}.DIRECT.GET.${stream}.>`, ...consumerApi(stream), `$KV.${bucket}.>`];
}

/** Reading a key-value bucket another principal provisions: its info and gets of its keys (direct or not). */
function kvReadApi(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [`${API}.STREAM.INFO.${stream}`, `${API}.STREAM.MSG.GET.${stream}`, `${API}.DIRECT.GET.${stream}.>`];
}

/**
 * Blobs (FL_BLOBS): writes only under the principal's own scope; reads only by reference (direct get of a
 * named manifest or chunk subject) — never by sequence, consumer or subject listing, so a reference is
 * needed to read a blob, and one reaches a centre only inside its own tasks.
 */
function blobApi(p: Principal, provision: boolean): string[] {
  const rules = [`fl.blobs.${principalToken(p)}.>`, `${API}.DIRECT.GET.FL_BLOBS.fl.blobs.*.*.m`, `${API}.DIRECT.GET.FL_BLOBS.fl.blobs.*.*.c.*.*`];
  if (provision) rules.push(...streamApi('FL_BLOBS'), `${API}.STREAM.PURGE.FL_BLOBS`);
  return rules;
}

/** Every service: the dead-letter stream, its health subject, JetStream account info. */
function serviceBase(service: string): { publish: string[]; subscribe: string[] } {
  return { publish: [`${API}.INFO`, ...streamApi(DLQ), `fl.dlq.>`], subscribe: [`fedledger.health.${service}`] };
}

const EXPERIMENTS_BUCKET = kvBuckets.experiments;

/** What each service publishes and consumes (the JetStream API subjects included). */
function servicePermissions(service: NatsService): { publish: string[]; subscribe: string[] } {
  const base = serviceBase(service);
  switch (service) {
    case 'round-coordinator':
      return {
        publish: [
          ...base.publish,
          ...['FL_TASKS', 'FL_CONTROL', 'FL_EVENTS', 'FL_HEARTBEATS'].flatMap(streamApi),
          ...['FL_EVENTS', 'FL_HEARTBEATS', 'FL_AGGREGATES'].flatMap(consumerApi),
          ...kvApi(EXPERIMENTS_BUCKET),
          'fl.tasks.>',
          'fl.control.>',
          'fl.events.*.round.*',
          'fl.events.*.experiment.completed',
        ],
        subscribe: [...base.subscribe, 'fl.progress.>'],
      };
    case 'aggregator':
      return {
        publish: [
          ...base.publish,
          ...['FL_UPDATES', 'FL_AGGREGATES'].flatMap(streamApi),
          ...['FL_UPDATES', 'FL_CONTROL'].flatMap(consumerApi),
          ...kvApi(EXPERIMENTS_BUCKET),
          ...blobApi(servicePrincipal(service), true),
          'fl.aggregates.>',
          'fl.events.*.update.accepted',
          'fl.events.*.update.rejected',
        ],
        subscribe: base.subscribe,
      };
    case 'passport-registry':
      return {
        publish: [...base.publish, ...consumerApi('FL_EVENTS'), ...kvApi(EXPERIMENTS_BUCKET), ...kvApi(kvBuckets.ledgerTraces)],
        subscribe: base.subscribe,
      };
    case 'ledger-indexer':
      return { publish: [...base.publish, ...streamApi('LEDGER_EVENTS'), ...kvReadApi(kvBuckets.ledgerTraces), 'ledger.events.>'], subscribe: base.subscribe };
  }
}

/**
 * Least privilege, per principal. A centre may: create, read and acknowledge only its own task consumer (whose
 * filter is its own task subject, named in the API subject so the server checks it); publish only its own
 * updates, heartbeats, progress, task failures, evaluations and dead letters (its id ends each subject); write
 * blobs only under its own scope and read blobs only by reference. Services get the streams and subjects they
 * use; the operator (the command line on the platform's host) is an administrator.
 */
export function natsPermissions(p: Principal): NatsPermissions {
  const inbox = `${inboxPrefix(p)}.>`;
  switch (p.kind) {
    case 'centre': {
      const id = p.centreId;
      const consumer = `centre-${id}`;
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            `${API}.CONSUMER.CREATE.FL_TASKS.${consumer}.fl.tasks.*.${id}`,
            `${API}.CONSUMER.INFO.FL_TASKS.${consumer}`,
            `${API}.CONSUMER.MSG.NEXT.FL_TASKS.${consumer}`,
            `$JS.ACK.FL_TASKS.${consumer}.>`,
            `fl.dlq.FL_TASKS.${consumer}`,
            `fl.updates.*.*.${id}`,
            `fl.heartbeats.${id}`,
            `fl.progress.*.${id}`,
            `fl.events.*.task.failed.${id}`,
            `fl.events.*.evaluation.reported.${id}`,
            ...blobApi(p, false),
          ],
        },
        subscribe: { allow: [inbox, 'fedledger.health.centre-agent'] },
        allow_responses: true,
      };
    }
    case 'service': {
      const s = servicePermissions(p.service);
      return { publish: { allow: s.publish }, subscribe: { allow: [inbox, ...s.subscribe] }, allow_responses: true };
    }
    case 'operator':
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] }, allow_responses: true };
  }
}
