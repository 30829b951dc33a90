import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CentreCapabilities, CentreHeartbeat, subjects } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { addIdentity, initOrganisations, type Identity } from '@fedledger/identity';
import type { EmbeddedLedger } from '@fedledger/ledger';
import { openLocalLedger } from '@fedledger/ledger-host';
import { JetStreamPublisher } from '@fedledger/messaging';
import { datasetFixture, grantFixture, passportFixture } from '@fedledger/testing';

// A real coordinator with LEDGER=embedded reading grants the test writes (as the registry and the centres would).
let fed: TestFederation;
let root: string;
let ledger: EmbeddedLedger;
const stewards: Record<string, Identity> = {};

const grant = (centre: string, subject: string) => ledger.submit(stewards[centre]!, 'dataset:Grant', [`ds-${centre}`, JSON.stringify(grantFixture(subject))]);

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-coordinator-grants-'));
  const ids = path.join(root, 'identities');
  const ledgerDir = path.join(root, 'ledger');
  await initOrganisations(ids);
  const dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
  ledger = openLocalLedger({ ledgerDir, identityDir: ids, holder: 'the coordinator grants test' });
  await ledger.submit(dev, 'passport:Create', [JSON.stringify(passportFixture('p-1'))]);

  for (const centre of ['inbreast', 'bcdr']) {
    stewards[centre] = await addIdentity(ids, { org: centre, user: 'steward', role: 'centre' });
    await ledger.submit(stewards[centre]!, 'dataset:Register', [JSON.stringify(datasetFixture(`ds-${centre}`))]);
  }
  await grant('inbreast', 'p-1');
  fed = await startTestFederation({
    centres: [],
    env: { LOG_LEVEL: 'error' },
    envOf: { 'round-coordinator': { CENTRES_WAIT_MS: '1500', LEDGER: 'embedded', LEDGER_DIR: ledgerDir, IDENTITY_DIR: ids } },
  });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
  await ledger?.close();
  rmSync(root, { recursive: true, force: true });
});

test('an experiment with a passport starts only when every centre announces a dataset with a live grant for it', async () => {
  const publisher = new JetStreamPublisher(await fed.federation.connect());
  const announce = async (centreId: string, datasetIds: string[]) =>
    publisher.publish(subjects.heartbeat(centreId), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId, agentVersion: 'test', sentAtUnixMs: Date.now(), capabilities: CentreCapabilities.create({ datasetIds }) })).finish());
  await announce('inbreast', ['ds-inbreast']);
  await announce('bcdr', ['ds-bcdr']);
  await announce('mystery', []);
  const initialWeights = await fed.putWeights([{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4) }]);
  const plan = (id: string, centres: string[]) => ({ id, passportId: 'p-1', initialWeights, rounds: 1, centres, minFitCentres: 1, minAvailableCentres: centres.length, roundDeadlineMs: 60_000 });

  await expect(fed.run(plan('gated', ['inbreast', 'bcdr', 'mystery']))).rejects.toThrow(
    'experiment gated is not started: no live grant lets passport p-1 train on the data of bcdr (dataset ds-bcdr has no grant for p-1), mystery (announces no dataset)',
  );
  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/gated`)).json()) as { status: string };
  expect(state.status).toBe('created');

  await grant('bcdr', 'p-1');
  const exp = await fed.run(plan('granted', ['inbreast', 'bcdr']));
  const w = fed.watch(exp);
  expect(await w.until((e) => e.event === 'round.started')).toMatchObject({ centres: ['inbreast', 'bcdr'] });
}, 120_000);
