import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { centrePrincipal, CentreHeartbeat, ModelUpdate, subjects } from '@fedledger/contracts';
import { encodeWeights, type WeightTensor } from '@fedledger/fl-core';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { addIdentity, initOrganisations, signUpdate, type Identity } from '@fedledger/identity';
import { JetStreamPublisher } from '@fedledger/messaging';

// Real coordinator and aggregator with UPDATE_SIGNATURES=require; the test plays the centres inbreast and bcdr.
let fed: TestFederation;
let root: string;
let inbreast: Identity;
let bcdr: Identity;
let bcdrDeveloper: Identity;
const tensors = (value: number): WeightTensor[] => [{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4).fill(value) }];

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-signed-'));
  await initOrganisations(root);
  inbreast = await addIdentity(root, { org: 'inbreast', user: 'agent', role: 'centre' });
  bcdr = await addIdentity(root, { org: 'bcdr', user: 'agent', role: 'centre' });
  bcdrDeveloper = await addIdentity(root, { org: 'bcdr', user: 'dev', role: 'developer' });
  fed = await startTestFederation({
    centres: [],
    env: { LOG_LEVEL: 'error' },
    envOf: { 'round-coordinator': { CENTRES_WAIT_MS: '1500' }, aggregator: { UPDATE_SIGNATURES: 'require', IDENTITY_DIR: root } },
  });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** An update for task `<exp>-r<round>-a0-<centre>`, signed by `signer` (over `signedDigest` when given: a tampered one). */
async function send(exp: string, round: number, centre: string, value: number, msgId: string, signer?: Identity, signedDigest?: string): Promise<void> {
  const blobs = await fed.federation.blobStore(centrePrincipal(centre));
  const weights = await blobs.put(encodeWeights(tensors(value)));
  const taskId = `${exp}-r${round}-a0-${centre}`;
  const signature = signer ? signUpdate(signer, { experimentId: exp, round, centreId: centre, taskId, weightsSha256: signedDigest ?? weights.sha256, numExamples: 10 }) : undefined;
  const update = ModelUpdate.create({
    experimentId: exp,
    round,
    centreId: centre,
    taskId,
    weights,
    numExamples: 10,
    ...(signature ? { signature: signature.signature, signerCertPem: signature.certPem, signerCertFingerprint: signature.fingerprint } : {}),
  });
  await new JetStreamPublisher(await fed.federation.connect()).publish(subjects.update(exp, round, centre), ModelUpdate.encode(update).finish(), { msgId });
}

test('only updates signed by an identity of the centre own organisation count; unsigned, foreign, wrong-role and tampered ones are rejected with the reason', async () => {
  const publisher = new JetStreamPublisher(await fed.federation.connect());
  for (const centreId of ['inbreast', 'bcdr']) {
    await publisher.publish(subjects.heartbeat(centreId), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId, agentVersion: 'test', sentAtUnixMs: Date.now() })).finish());
  }
  const initialWeights = await fed.putWeights(tensors(0));
  const exp = await fed.run({ id: 'signed', initialWeights, rounds: 1, centres: ['inbreast', 'bcdr'], minFitCentres: 2, minAvailableCentres: 2, roundDeadlineMs: 60_000 });
  const w = fed.watch(exp);
  await w.until((e) => e.event === 'round.started');

  await send(exp, 1, 'bcdr', 9, 's1'); // unsigned
  await send(exp, 1, 'bcdr', 9, 's2', inbreast); // signed by another organisation
  await send(exp, 1, 'bcdr', 9, 's3', bcdrDeveloper); // its organisation, but not a centre identity
  await send(exp, 1, 'bcdr', 9, 's4', bcdr, 'f'.repeat(64)); // signed over other weights
  await send(exp, 1, 'inbreast', 2, 's5', inbreast);
  await send(exp, 1, 'bcdr', 4, 's6', bcdr);

  const done = await w.until((e) => e.event === 'experiment.completed', 60_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');
  const rejected = w.events
    .filter((e) => e.event === 'update.rejected')
    .map((e) => [e.code, e.reason])
    .sort((x, y) => String(x[1]).localeCompare(String(y[1])));
  expect(rejected).toEqual([
    ['REJECT_REASON_BAD_SIGNATURE', 'update from centre bcdr is not signed'],
    ['REJECT_REASON_BAD_SIGNATURE', 'update from centre bcdr is signed by an identity with role developer, not role centre'],
    ['REJECT_REASON_BAD_SIGNATURE', 'update from centre bcdr is signed by O=inbreast.fedledger.local, OU=client, CN=agent, not by an identity of organisation bcdr (BcdrMSP)'],
    ['REJECT_REASON_BAD_SIGNATURE', 'update from centre bcdr: the signature does not match this experiment, round, task, weights digest and example count'],
  ]);
  expect(w.events.filter((e) => e.event === 'update.accepted').map((e) => e.centreId).sort()).toEqual(['bcdr', 'inbreast']);
  expect(w.events.find((e) => e.event === 'round.completed')).toMatchObject({ examples: 20 });
}, 120_000);
