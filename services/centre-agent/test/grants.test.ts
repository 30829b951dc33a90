import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelUpdate, streams, subjects, TaskFailed, TaskKind, TrainingTask } from '@fedledger/contracts';
import { encodeWeights } from '@fedledger/fl-core';
import { addIdentity, initOrganisations, type Identity } from '@fedledger/identity';
import type { EmbeddedLedger } from '@fedledger/ledger';
import { openLocalLedger } from '@fedledger/ledger-host';
import { BlobStore, JetStreamConnection } from '@fedledger/messaging';
import { datasetFixture, grantFixture, passportFixture, spawnService, startNats, type NatsFixture, type ServiceProcess } from '@fedledger/testing';

/**
 * A centre-agent that checks its grants: a real agent process, a real nats-server, the embedded ledger (this test
 * writes it, as the passport-registry would; the agent reads it). It trains only while a live grant lets the task's
 * passport use its dataset, and reports a refusal with the ledger's reason otherwise.
 */
let nats: NatsFixture;
let root: string;
let ledger: EmbeddedLedger;
let connection: JetStreamConnection;
let agent: ServiceProcess;
let weights: Awaited<ReturnType<BlobStore['put']>>;
let steward: Identity;

const passport = (id: string) => passportFixture(id, { datasets: [{ datasetId: 'ds-inbreast', role: 'train', centre: 'inbreast' }] });

async function sendTask(round: number, passportId: string): Promise<void> {
  const task = TrainingTask.create({
    experimentId: 'exp-g',
    round,
    centreId: 'inbreast',
    taskId: `exp-g-r${round}-inbreast`,
    globalWeights: weights,
    batchSize: 8,
    epochs: 1,
    learningRate: 0.1,
    kind: TaskKind.TASK_KIND_TRAIN,
    modelArchitecture: 'dense-test',
    datasetId: 'ds-inbreast',
    deadlineUnixMs: Date.now() + 60_000,
    ...(passportId ? { passportId } : {}),
  });
  await connection.js.publish(subjects.task('exp-g', 'inbreast'), TrainingTask.encode(task).finish(), { msgID: task.taskId });
}

/** The next message on a subject of a stream (from its first), within 30 s. */
async function next(stream: string, subject: string): Promise<Uint8Array> {
  const consumer = await connection.js.consumers.get(stream, { filter_subjects: [subject] });
  const message = await consumer.next({ expires: 30_000 });
  if (!message) throw new Error(`nothing on ${subject} within 30 s:\n${agent.output().slice(-3000)}`);
  return message.data;
}

beforeAll(async () => {
  nats = await startNats();
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-grants-'));
  const ids = path.join(root, 'identities');
  const ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  const dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  steward = await addIdentity(ids, { org: 'inbreast', user: 'steward', role: 'centre' });
  ledger = openLocalLedger({ ledgerDir, identityDir: ids, holder: 'the grants test' });
  for (const id of ['p-granted', 'p-never']) await ledger.submit(dev, 'passport:Create', [JSON.stringify(passport(id))]);
  await ledger.submit(steward, 'dataset:Register', [JSON.stringify(datasetFixture('ds-inbreast'))]);
  await ledger.submit(steward, 'dataset:Grant', ['ds-inbreast', JSON.stringify(grantFixture('p-granted'))]);

  connection = await JetStreamConnection.connect({ servers: nats.url, name: 'grants-test' });
  for (const s of [streams.FL_TASKS, streams.FL_UPDATES, streams.FL_EVENTS]) await connection.jsm.streams.add({ name: s.name, subjects: [...s.subjects] });
  const blobs = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: 'operator' });
  weights = await blobs.put(encodeWeights([{ name: 'dense/kernel', shape: [4, 2], data: new Float32Array(8).fill(0.5) }]));
  agent = spawnService('centre-agent', nats.url, {
    CENTRE_ID: 'inbreast',
    TRAINER: 'noop',
    LEDGER: 'embedded',
    LEDGER_DIR: ledgerDir,
    IDENTITY_DIR: ids,
    CENTRE_IDENTITY: 'inbreast/steward',
    LEDGER_DATASET_ID: 'ds-inbreast',
  });
  await agent.ready();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await connection?.drain();
  await ledger?.close();
  await nats?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('centre-agent grant check', () => {
  it('trains for a passport its dataset has a live grant for', async () => {
    await sendTask(1, 'p-granted');
    const update = ModelUpdate.decode(await next(streams.FL_UPDATES.name, subjects.update('exp-g', 1, 'inbreast')));
    expect(update).toMatchObject({ experimentId: 'exp-g', round: 1, centreId: 'inbreast' });
  });

  it('refuses, with the ledger reason, a passport without a grant, a task naming no passport, and a revoked grant from the next task on', async () => {
    await sendTask(2, 'p-never');
    let failed = TaskFailed.decode(await next(streams.FL_EVENTS.name, subjects.taskFailed('exp-g', 'inbreast')));
    expect(failed).toMatchObject({ round: 2, centreId: 'inbreast' });
    expect(failed.reason).toContain('no live grant lets passport p-never train on dataset ds-inbreast: dataset ds-inbreast has no grant for p-never');

    await ledger.submit(steward, 'dataset:RevokeGrant', ['ds-inbreast', 'p-granted']);
    await sendTask(3, 'p-granted');
    await sendTask(4, '');
    const reasons: Record<number, string> = {};
    const consumer = await connection.js.consumers.get(streams.FL_EVENTS.name, { filter_subjects: [subjects.taskFailed('exp-g', 'inbreast')] });
    for (let i = 0; i < 3; i++) {
      const m = await consumer.next({ expires: 30_000 });
      if (!m) break;
      failed = TaskFailed.decode(m.data);
      reasons[failed.round] = failed.reason;
    }
    expect(reasons[3]).toMatch(/no live grant lets passport p-granted train on dataset ds-inbreast: the grant was revoked at /);
    expect(reasons[4]).toContain('names no AI passport: nothing on the ledger lets it use dataset ds-inbreast');
    // Nothing was trained for the refused tasks.
    const info = await connection.jsm.streams.info(streams.FL_UPDATES.name, { subjects_filter: 'fl.updates.exp-g.>' });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([subjects.update('exp-g', 1, 'inbreast')]);
  });
});
