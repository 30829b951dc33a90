import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CentreCapabilities, CentreHeartbeat, subjects, type ExperimentState } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { addIdentity, initOrganisations, type Identity } from '@fedledger/identity';
import type { EmbeddedLedger } from '@fedledger/ledger';
import { openLocalLedger } from '@fedledger/ledger-host';
import { JetStreamPublisher } from '@fedledger/messaging';
import { datasetFixture, grantFixture, passportFixture } from '@fedledger/testing';

// A real coordinator and two real centre-agents with LEDGER=embedded reading grants the test writes (as the
// registry and the data stewards would).
let fed: TestFederation;
let root: string;
let ledger: EmbeddedLedger;
const stewards: Record<string, Identity> = {};

let dev: Identity;
const grant = (centre: string, subject: string) => ledger.submit(stewards[centre]!, 'dataset:Grant', [`ds-${centre}`, JSON.stringify(grantFixture(subject))]);

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-coordinator-grants-'));
  const ids = path.join(root, 'identities');
  const ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  ledger = openLocalLedger({ ledgerDir, identityDir: ids, holder: 'the coordinator grants test' });
  await ledger.submit(dev, 'passport:Create', [JSON.stringify(passportFixture('p-1'))]);

  for (const centre of ['inbreast', 'bcdr']) {
    stewards[centre] = await addIdentity(ids, { org: centre, user: 'steward', role: 'centre' });
    await ledger.submit(stewards[centre]!, 'dataset:Register', [JSON.stringify(datasetFixture(`ds-${centre}`))]);
  }
  await grant('inbreast', 'p-1');
  const onLedger = { LEDGER: 'embedded', LEDGER_DIR: ledgerDir, IDENTITY_DIR: ids };
  const centre = (id: string) => ({ ...onLedger, CENTRE_IDENTITY: `${id}/steward`, LEDGER_DATASET_ID: `ds-${id}` });
  fed = await startTestFederation({
    centres: ['inbreast', 'bcdr'],
    identityDir: ids,
    env: { LOG_LEVEL: 'warn', TRAINER: 'noop', NOOP_DELAY_MS: '1000' },
    envOf: { 'round-coordinator': { CENTRES_WAIT_MS: '1500', ...onLedger }, aggregator: { IDENTITY_DIR: ids }, 'centre-inbreast': centre('inbreast'), 'centre-bcdr': centre('bcdr') },
  });
  weights = await fed.putWeights([{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4) }]);
}, 120_000);

afterAll(async () => {
  await fed?.stop();
  await ledger?.close();
  rmSync(root, { recursive: true, force: true });
});

const plan = (id: string, centres: string[], over: Record<string, unknown> = {}) => ({
  id,
  passportId: 'p-1',
  initialWeights: weights,
  rounds: 1,
  centres,
  minFitCentres: 1,
  minAvailableCentres: centres.length,
  roundDeadlineMs: 60_000,
  ...over,
});
let weights: unknown;

test('an experiment with a passport starts only when every centre announces a dataset with a live grant for it', async () => {
  const publisher = new JetStreamPublisher(await fed.federation.connect());
  const announce = async (centreId: string, datasetIds: string[]) =>
    publisher.publish(subjects.heartbeat(centreId), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId, agentVersion: 'test', sentAtUnixMs: Date.now(), capabilities: CentreCapabilities.create({ datasetIds }) })).finish());
  // the two agents announce their ledger datasets in their heartbeats; a third centre announces none
  await announce('mystery', []);

  await expect(fed.run(plan('gated', ['inbreast', 'bcdr', 'mystery']))).rejects.toThrow(
    'experiment gated is not started: no live grant lets passport p-1 train on the data of bcdr (dataset ds-bcdr has no grant for p-1), mystery (announces no dataset)',
  );
  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/gated`)).json()) as { status: string };
  expect(state.status).toBe('created');

  await grant('bcdr', 'p-1');
  const exp = await fed.run(plan('granted', ['inbreast', 'bcdr']));
  const w = fed.watch(exp);
  expect(await w.until((e) => e.event === 'round.started')).toMatchObject({ centres: ['inbreast', 'bcdr'] });
  expect(await w.until((e) => e.event === 'experiment.completed')).toMatchObject({ outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED', reason: '' });
}, 120_000);

test('a grant revoked mid-experiment: the coordinator sends that centre no further task and records why', async () => {
  await ledger.submit(dev, 'passport:Create', [JSON.stringify(passportFixture('p-2'))]);
  await grant('inbreast', 'p-2');
  await grant('bcdr', 'p-2');
  const exp = await fed.run(plan('revoked', ['inbreast', 'bcdr'], { rounds: 3, passportId: 'p-2' }));
  // round 1's tasks went out when it started (both granted then); bcdr's data steward revokes now
  await ledger.submit(stewards.bcdr!, 'dataset:RevokeGrant', ['ds-bcdr', 'p-2']);
  const done = await fed.watch(exp).until((e) => e.event === 'experiment.completed', 90_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');

  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/${exp}`)).json()) as ExperimentState;
  for (const round of state.completedRounds.slice(1)) {
    expect(round.centres).toEqual(['inbreast']);
    expect(round.missing).toEqual(['bcdr']);
    expect(round.missingReasons?.bcdr).toMatch(
      /^cannot train: no live grant lets passport p-2 train on dataset ds-bcdr \(checked by the coordinator\): the grant was revoked at \d{4}-/,
    );
  }
  // Rounds 2 and 3 sent bcdr nothing: the only task on its subject is round 1's.
  const connection = await fed.federation.connect();
  const tasks = await connection.jsm.streams.info('FL_TASKS', { subjects_filter: subjects.task(exp, 'bcdr') });
  expect(Object.values(tasks.state.subjects ?? {})).toEqual([1]);
  const logged = await readFile(path.join(fed.federation.logDir, 'round-coordinator.log'), 'utf8');
  expect(logged).toContain(`experiment ${exp} round 2: no train task for bcdr: no live grant lets passport p-2 train on dataset ds-bcdr`);
}, 120_000);
