import { createServer, type Server } from 'node:net';
import { freePorts } from '@fedledger/local-stack';
import { spawnService, startNats, type NatsFixture } from '@fedledger/testing';

/**
 * HEALTH_PORT: a service without a REST API (here the aggregator, as a real process against a real nats-server)
 * answers GET /health for Kubernetes probes, and says 503 when it cannot work.
 */
let nats: NatsFixture;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('aggregator HEALTH_PORT', () => {
  it('answers GET /health with 200 and its report while connected, 503 once NATS is gone and 200 again when it is back; nothing else on that port', async () => {
    const service = spawnService('aggregator', nats.url, { HEALTH_PORT: '0' });
    try {
      const report = await service.ready();
      const url = String(report.healthUrl);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/json');
      expect(await ok.json()).toMatchObject({ status: 'ok', service: 'aggregator', pid: service.pid, nats: { connected: true } });
      expect((await fetch(url.replace(/\/health$/, '/docs'))).status).toBe(404);
      const post = await fetch(url, { method: 'POST' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);

      await nats.kill();
      const degraded = await poll(url, 503);
      expect(degraded).toMatchObject({ status: 'degraded', nats: { connected: false } });

      await nats.restart();
      expect(await poll(url, 200)).toMatchObject({ status: 'ok', nats: { connected: true } });
    } finally {
      const code = await service.stop();
      if (code !== 0) throw new Error(`exit ${code}, not 0:\n${service.output()}`);
    }
  }, 60_000);

  it('refuses to start when HEALTH_PORT is taken: exit 78 naming the variable and the address', async () => {
    const [port] = await freePorts(1);
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const service = spawnService('aggregator', nats.url, { HEALTH_PORT: String(port) });
      const code = await service.exited();
      if (code !== 78) throw new Error(`exit ${code}, not 78:\n${service.output()}`);
      expect(service.output()).toContain(`aggregator: HEALTH_PORT: cannot listen on 127.0.0.1:${port} (listen EADDRINUSE`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

/** GET until the status is `status` (at most 20 s); the body then. */
async function poll(url: string, status: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    const res = await fetch(url).catch((err: unknown) => err as Error);
    if (!(res instanceof Error)) {
      if (res.status === status) return (await res.json()) as Record<string, unknown>;
      last = `${res.status}`;
    } else last = res.message;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`GET ${url} did not answer ${status} within 20 s (last: ${last})`);
}
