import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { spawnService, startNats, type NatsFixture } from '@fedledger/testing';

let nats: NatsFixture;

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

test('centre-agent starts, connects to NATS, reports health, and stops cleanly on SIGTERM', async () => {
  const service = spawnService('centre-agent', nats.url, { CENTRE_ID: 'bcdr' });
  try {
    const health = await service.ready();
    expect(health).toMatchObject({ status: 'ok', service: 'centre-agent', pid: service.pid, nats: { connected: true } });
    // NATS only: no HTTP port is opened.
    expect(health.http).toBeUndefined();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    await nc.close();
    expect(names).toEqual(expect.arrayContaining([...[], 'FL_DLQ']));
  } finally {
    const code = await service.stop();
    expect(code).toBe(0);
    expect(service.output()).toContain('stopped');
  }
});
