import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { z } from 'zod';
import { ConfigError } from '@fedledger/config';
import { bytesCodec, JetStreamClientProxy, JetStreamEvent, JetStreamRecord } from '@fedledger/messaging';
import { spawnService, startNats, type NatsFixture } from '@fedledger/testing';
import { defineService, startService } from '../src';

@Controller()
class FailingHandler {
  @JetStreamEvent('probe', bytesCodec)
  handle(@Payload() data: Uint8Array): void {
    throw new Error(`cannot use probe of ${data.length} bytes`);
  }
}

@Module({ controllers: [FailingHandler] })
class ProbeModule {}

const probeService = defineService({
  name: 'probe',
  module: ProbeModule,
  config: z.object({ PROBE_LIMIT: z.coerce.number().int().positive().default(3) }),
  http: { defaultPort: 0 },
  streams: () => [{ name: 'PROBE', subjects: ['probe.>'] }],
  consumers: (config) => [{ handler: 'probe', stream: 'PROBE', durable: 'probe', filterSubjects: ['probe.in'], maxDeliver: config.PROBE_LIMIT, backoffMs: [50] }],
});

let nats: NatsFixture;

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

test('bad configuration names every variable and the reason, before anything starts', async () => {
  const started = startService(probeService, { NATS_URL: 'localhost', PROBE_LIMIT: '-1', LOG_LEVEL: 'loud' });
  await expect(started).rejects.toThrow(ConfigError);
  await expect(startService(probeService, { NATS_URL: 'localhost', PROBE_LIMIT: '-1', LOG_LEVEL: 'loud' })).rejects.toThrow(
    /NATS_URL: expected nats:\/\/host:port, got 'localhost'[\s\S]*LOG_LEVEL[\s\S]*PROBE_LIMIT/,
  );
});

test('a service process with bad configuration exits 78 and says why', async () => {
  const agent = spawnService('centre-agent', nats.url, { CENTRE_ID: 'st mary' });
  expect(await agent.exited()).toBe(78);
  expect(agent.output()).toContain("centre-agent: CENTRE_ID: expected 1..128 letters, digits, '_' or '-', got 'st mary'");
});

test('in a hybrid (HTTP + JetStream) service a failing handler is dead-lettered with its own error, and HTTP errors stay HTTP', async () => {
  const running = await startService(probeService, { NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'error' });
  try {
    const dlq = await running.connection.js.consumers.get('FL_DLQ', { filter_subjects: ['fl.dlq.PROBE.probe'] });
    const client = new JetStreamClientProxy(running.connection);
    await lastValueFrom(client.emit('probe.in', new JetStreamRecord(Buffer.from('abc'))));
    const msg = await dlq.next({ expires: 10_000 });
    expect(msg?.headers?.get('Fedledger-Dlq-Reason')).toBe('handler failed on all 3 deliveries; last error: cannot use probe of 3 bytes');

    const http = String(running.health().http);
    const missing = await fetch(`${http}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ statusCode: 404, message: 'Cannot GET /nope' });
    expect((await fetch(`${http}/health`)).status).toBe(200);
  } finally {
    await running.stop();
  }
  expect(running.connection.nc.isClosed()).toBe(true);
});
