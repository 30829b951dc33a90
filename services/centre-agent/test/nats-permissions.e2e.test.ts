import { readFileSync } from 'node:fs';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy } from '@nats-io/jetstream';
import { centrePrincipal, ModelUpdate, servicePrincipal, streams, subjects, TaskFailed, CentreHeartbeat } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { BlobStore, JetStreamConnection } from '@fedledger/messaging';
import { spawnService } from '@fedledger/testing';

// The local stack's NATS as `fedledger up` and `fedledger simulate` configure it: TLS, one nkey user per service
// and centre, least-privilege permissions (libs/contracts/src/principals.ts). Centre 'a' plays the attacker.
let fed: TestFederation;
let a: JetStreamConnection;
let initial: { blobId: string; sha256: string; sizeBytes: number };
const VIOLATION = /Permissions Violation for (Publish|Subscription) to/;

const asCentre = (id: string, name = `attacker-${id}`) => JetStreamConnection.connect({ servers: fed.federation.natsUrl, name, ...fed.federation.nats.connectOptions(centrePrincipal(id)) });
const caFile = () => fed.federation.nats.connectOptions(centrePrincipal('a')).tlsCaFile;

/** Subscribes and resolves with the server's refusal (or 'delivered' if a message arrives first, 'silent' if neither within 3 s). */
async function subscribeOutcome(nc: NatsConnection, subject: string): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('silent'), 3_000);
    nc.subscribe(subject, {
      callback: (err) => {
        clearTimeout(timer);
        resolve(err ? err.message : 'delivered');
      },
    });
  });
}

beforeAll(async () => {
  fed = await startTestFederation({ centres: ['a', 'b'], env: { LOG_LEVEL: 'warn', TRAINER: 'noop', NOOP_DELAY_MS: '200' } });
  a = await asCentre('a');
  initial = await fed.putWeights([{ name: 'dense/kernel', shape: [4, 4], data: new Float32Array(16).fill(0.25) }]);
}, 120_000);

afterAll(async () => {
  await a?.drain();
  await fed?.stop();
});

describe('connections', () => {
  it('refuses an anonymous connection, an unknown key, and a connection that will not speak TLS', async () => {
    await expect(connect({ servers: fed.federation.natsUrl, tls: { caFile: caFile() } })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: fed.federation.natsUrl, tls: { caFile: caFile() }, authenticator: nkeyAuthenticator(createUser().getSeed()) })).rejects.toThrow(/Authorization Violation/);
    const seed = new TextEncoder().encode(readFileSync(fed.federation.nats.connectOptions(centrePrincipal('a')).nkeySeedFile, 'utf8').trim());
    // Without the CA the server's certificate is not trusted; the TLS handshake fails before any credential is sent.
    await expect(connect({ servers: fed.federation.natsUrl, authenticator: nkeyAuthenticator(seed), reconnect: false })).rejects.toThrow();
  });

  it('lets both centres work with their own credentials: a round completes with an update from each', async () => {
    const exp = 'sec-honest';
    const watch = fed.watch(exp);
    await fed.run({ id: exp, rounds: 1, centres: ['a', 'b'], minFitCentres: 2, initialWeights: initial });
    const done = await watch.until((e) => e.event === 'round.completed', 60_000);
    expect(done).toMatchObject({ round: 1, centres: ['a', 'b'] });
  });
});

describe("centre a cannot read b's tasks", () => {
  it("fetching from b's consumer, or making one that reads b's tasks, is refused by the server", async () => {
    await expect(a.js.consumers.get(streams.FL_TASKS.name, 'centre-b')).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.CONSUMER\.INFO\.FL_TASKS\.centre-b"/);
    const own = { durable_name: 'centre-a', ack_policy: AckPolicy.Explicit };
    await expect(a.jsm.consumers.add(streams.FL_TASKS.name, { ...own, filter_subject: subjects.tasksForCentre('b') })).rejects.toThrow(/"\$JS\.API\.CONSUMER\.CREATE\.FL_TASKS\.centre-a\.fl\.tasks\.\*\.b"/);
    await expect(a.jsm.consumers.add(streams.FL_TASKS.name, { ...own, filter_subjects: ['fl.tasks.>'] })).rejects.toThrow(VIOLATION);
    await expect(a.jsm.consumers.add(streams.FL_TASKS.name, { ack_policy: AckPolicy.None, filter_subject: 'fl.tasks.>' })).rejects.toThrow(VIOLATION);
    await expect(a.jsm.streams.info(streams.FL_TASKS.name, { subjects_filter: '>' })).rejects.toThrow(VIOLATION);
  });

  it("subscribing to b's task subject, to the tasks of all, or to b's replies (where b's pulled tasks arrive) is refused", async () => {
    for (const subject of [subjects.task('sec-honest', 'b'), 'fl.tasks.>', '_INBOX.>', '_INBOX.centre-b.>', '>']) {
      expect(await subscribeOutcome(a.nc, subject)).toMatch(new RegExp(`Permissions Violation for Subscription to "${subject.replace(/[.*>$]/g, '\\$&')}"`));
    }
  });
});

describe('centre a cannot speak as b, nor as a service', () => {
  it("publishing b's update, heartbeat or task failure is refused", async () => {
    const update = ModelUpdate.encode(ModelUpdate.create({ experimentId: 'sec-honest', round: 1, centreId: 'b', taskId: 't', weights: initial, numExamples: 1 })).finish();
    await expect(a.js.publish(subjects.update('sec-honest', 1, 'b'), update)).rejects.toThrow(/Permissions Violation for Publish to "fl\.updates\.sec-honest\.1\.b"/);
    await expect(a.js.publish(subjects.heartbeat('b'), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId: 'b' })).finish())).rejects.toThrow(VIOLATION);
    await expect(a.js.publish(subjects.taskFailed('sec-honest', 'b'), TaskFailed.encode(TaskFailed.create({ centreId: 'b' })).finish())).rejects.toThrow(VIOLATION);
  });

  it('publishing what only services say (aggregates, round events, round control, tasks) is refused', async () => {
    for (const subject of [subjects.aggregate('sec-honest', 2), subjects.roundCompleted('sec-honest'), subjects.roundClose('sec-honest', 2), subjects.task('sec-honest', 'a'), subjects.updateAccepted('sec-honest')]) {
      await expect(a.js.publish(subject, new Uint8Array(1))).rejects.toThrow(VIOLATION);
    }
  });

  it("writing a blob in b's scope or the aggregator's is refused; in its own scope it works", async () => {
    const open = (scope: string) => BlobStore.open(a, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope, provision: false });
    for (const scope of [subjects.blobScope(centrePrincipal('b')), subjects.blobScope(servicePrincipal('aggregator'))]) {
      await expect((await open(scope)).put(new Uint8Array(10))).rejects.toThrow(VIOLATION);
    }
    const own = await (await open(subjects.blobScope(centrePrincipal('a')))).put(new Uint8Array(10).fill(7));
    expect(own.blobId).toMatch(/^centre-a\./);
  });

  it('touching the streams (create, update, purge, delete) is refused', async () => {
    await expect(a.jsm.streams.add({ name: 'MINE', subjects: ['fl.updates.>'] })).rejects.toThrow(VIOLATION);
    await expect(a.jsm.streams.purge(streams.FL_UPDATES.name)).rejects.toThrow(VIOLATION);
    await expect(a.jsm.streams.purge(streams.FL_BLOBS.name)).rejects.toThrow(VIOLATION);
    await expect(a.jsm.streams.delete(streams.FL_EVENTS.name)).rejects.toThrow(VIOLATION);
  });
});

describe('centre a cannot find blobs it was not given', () => {
  it('reads a blob by its reference (the initial weights its task named) and nothing by sequence, listing or consumer', async () => {
    const blobs = await BlobStore.open(a, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: 'centre-a', provision: false });
    expect((await blobs.getBytes(initial)).length).toBe(initial.sizeBytes);
    await expect(a.jsm.direct.getMessage(streams.FL_BLOBS.name, { seq: 1 })).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.DIRECT\.GET\.FL_BLOBS"/);
    await expect(a.jsm.streams.getMessage(streams.FL_BLOBS.name, { seq: 1 })).rejects.toThrow(VIOLATION);
    await expect(a.jsm.streams.info(streams.FL_BLOBS.name, { subjects_filter: 'fl.blobs.>' })).rejects.toThrow(VIOLATION);
    await expect(a.jsm.consumers.add(streams.FL_BLOBS.name, { ack_policy: AckPolicy.None, filter_subject: 'fl.blobs.>' })).rejects.toThrow(VIOLATION);
    expect(await subscribeOutcome(a.nc, 'fl.blobs.>')).toMatch(VIOLATION);
  });

  it("reads no experiment's events, aggregates or control messages (where blob references travel)", async () => {
    for (const stream of [streams.FL_EVENTS.name, streams.FL_AGGREGATES.name, streams.FL_UPDATES.name, streams.FL_CONTROL.name]) {
      await expect(a.jsm.consumers.add(stream, { ack_policy: AckPolicy.None })).rejects.toThrow(VIOLATION);
    }
    expect(await subscribeOutcome(a.nc, 'fl.events.>')).toMatch(VIOLATION);
    expect(await subscribeOutcome(a.nc, 'fl.progress.>')).toMatch(VIOLATION);
  });
});

it("a centre-agent started as b with a's credentials fails at start-up, naming the refused subject", async () => {
  const creds = fed.federation.nats.credentials(centrePrincipal('a'));
  const agent = spawnService('centre-agent', fed.federation.natsUrl, { CENTRE_ID: 'b', TRAINER: 'noop', ...creds });
  expect(await agent.exited()).toBe(1);
  // Its replies (where b's pulled tasks would arrive) are the first thing it asks for, and the server says no.
  expect(agent.output()).toMatch(/centre-agent: failed to start: NATS at tls:\/\/127\.0\.0\.1:\d+ refused fedledger connection centre-agent-\S+: Permissions Violation for Subscription to "_INBOX\.centre-b\.\S+" \(are these this principal's credentials\?/);
}, 60_000);
