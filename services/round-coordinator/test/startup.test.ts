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

test('round-coordinator starts, connects to NATS, reports health, and stops cleanly on SIGTERM', async () => {
  const service = spawnService('round-coordinator', nats.url, { HTTP_PORT: '0' });
  try {
    const health = await service.ready();
    expect(health).toMatchObject({ status: 'ok', service: 'round-coordinator', pid: service.pid, nats: { connected: true } });
    const res = await fetch(`${String(health.http)}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', pid: service.pid });
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    await nc.close();
    expect(names).toEqual(expect.arrayContaining([...['FL_TASKS', 'FL_EVENTS', 'FL_HEARTBEATS'], 'FL_DLQ']));
  } finally {
    const code = await service.stop();
    expect(code).toBe(0);
    expect(service.output()).toContain('stopped');
  }
});
