import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initOrganisations } from '@fedledger/identity';
import { serviceStartupTest, spawnService, startNats } from '@fedledger/testing';

// Writes to its REST API are signed by identities of these organisations: it needs them to start.
const identityDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-coordinator-ids-'));
beforeAll(() => initOrganisations(identityDir));
afterAll(() => rmSync(identityDir, { recursive: true, force: true }));

serviceStartupTest('round-coordinator', { http: true, env: { IDENTITY_DIR: identityDir }, streams: ['FL_TASKS', 'FL_EVENTS', 'FL_HEARTBEATS', 'FL_CONTROL', 'KV_fl_experiments'] });

test('without organisations to check signed requests against it refuses to start, naming IDENTITY_DIR', async () => {
  const nats = await startNats();
  try {
    const missing = path.join(identityDir, 'nowhere');
    const service = spawnService('round-coordinator', nats.url, { HTTP_PORT: '0', IDENTITY_DIR: missing });
    expect(await service.exited()).toBe(78);
    expect(service.output()).toContain(`IDENTITY_DIR: ${missing} does not exist: writes to the REST API are signed by identities of these organisations`);
  } finally {
    await nats.stop();
  }
}, 30_000);
