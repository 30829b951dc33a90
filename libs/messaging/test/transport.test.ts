import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { PubAck } from '@nats-io/jetstream';
import { startNats, type NatsFixture } from '@fedledger/testing';
import {
  createJetStreamMicroservice,
  DeadLetterHeaders,
  JetStreamClientProxy,
  JetStreamConnection,
  JetStreamContext,
  JetStreamEvent,
  JetStreamRecord,
  PoisonMessageError,
  type ConsumerSpec,
  type DeadLetterEvent,
} from '../src';
import { pingCodec, TEST_DLQ, TEST_STREAM, type Ping } from './fixtures/ping';

/** What the handler under test saw, and how it should behave. */
const seen: { id: string; deliveries: number }[] = [];
let behaviour: (ping: Ping) => void = () => undefined;
/** When set, the handler returns what this returns (given the shutdown signal) instead of finishing at once. */
let behaviourWithSignal: ((signal: AbortSignal) => Promise<void>) | undefined;

@Controller()
class PingHandler {
  @JetStreamEvent('ping', pingCodec)
  handle(@Payload() ping: Ping, @Ctx() ctx: JetStreamContext): Promise<void> | undefined {
    seen.push({ id: ping.id, deliveries: ctx.deliveryCount });
    behaviour(ping);
    return behaviourWithSignal?.(ctx.signal);
  }
}

@Module({ controllers: [PingHandler] })
class PingModule {}

let nats: NatsFixture;
let connection: JetStreamConnection;
let client: JetStreamClientProxy;
let app: INestMicroservice | undefined;
let deadLetters: DeadLetterEvent[];
let durableCounter = 0;

let subject = 'test.ping.0';

/** Each test gets its own durable on its own subject, so no test sees another's messages. */
function consumer(overrides: Partial<ConsumerSpec> = {}): ConsumerSpec {
  durableCounter++;
  subject = `test.ping.${durableCounter}`;
  return { handler: 'ping', stream: 'TEST', durable: `ping-${durableCounter}`, filterSubjects: [subject], ackWaitMs: 1_000, maxDeliver: 3, backoffMs: [100], ...overrides };
}

async function startApp(spec: ConsumerSpec): Promise<void> {
  const created = await createJetStreamMicroservice(
    PingModule,
    { connection, streams: [TEST_STREAM], consumers: [spec], deadLetter: TEST_DLQ, shutdownTimeoutMs: 2_000 },
    { logger: process.env.TEST_NEST_LOGS ? ["error", "warn", "log"] : false },
  );
  created.server.on('deadLetter', (e) => deadLetters.push(e));
  app = created.app;
  await app.listen();
}

async function emit(ping: Ping, msgId?: string): Promise<PubAck> {
  return lastValueFrom(client.emit<PubAck>(subject, new JetStreamRecord(pingCodec.encode(ping), msgId ? { msgId } : {})));
}

async function until(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads every dead letter stored for a consumer, straight from the stream. */
async function storedDeadLetters(durable: string): Promise<{ headers: Record<string, string>; data: Uint8Array }[]> {
  const out: { headers: Record<string, string>; data: Uint8Array }[] = [];
  const info = await connection.jsm.streams.info(TEST_DLQ.stream);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await connection.jsm.streams.getMessage(TEST_DLQ.stream, { seq }).catch(() => null);
    if (!m || m.subject !== `${TEST_DLQ.subjectPrefix}.TEST.${durable}`) continue;
    const headers: Record<string, string> = {};
    for (const [k, v] of m.header ?? []) headers[k] = v[0] ?? '';
    out.push({ headers, data: m.data });
  }
  return out;
}

beforeAll(async () => {
  nats = await startNats();
  connection = await JetStreamConnection.connect({ servers: nats.url, name: 'transport-test' });
  client = new JetStreamClientProxy(connection);
});

afterAll(async () => {
  await connection?.drain();
  await nats?.stop();
});

beforeEach(() => {
  seen.length = 0;
  deadLetters = [];
  behaviour = () => undefined;
});

afterEach(async () => {
  await app?.close();
  app = undefined;
});

test('a message is handled and acked once', async () => {
  const spec = consumer();
  await startApp(spec);
  await emit({ id: 'a-1', n: 1 });
  await until('the message to be handled', () => seen.length === 1);
  await sleep(1_500); // longer than ack_wait: an unacked message would come back
  expect(seen).toEqual([{ id: 'a-1', deliveries: 1 }]);
  const info = await connection.jsm.consumers.info('TEST', spec.durable);
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
});

test('a consumer killed before it acks: the message is redelivered and handled once', async () => {
  const spec = consumer();
  const child = spawn(process.execPath, ['-r', path.join(__dirname, '../../../scripts/register.js'), path.join(__dirname, 'fixtures/hanging-consumer.ts'), nats.url, spec.durable, subject], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until('the child consumer to start', () => out.includes('READY'), 30_000);
    await emit({ id: 'k-1', n: 1 });
    await until('the child to receive the message', () => out.includes('RECEIVED k-1'));
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await startApp(spec);
  await until('redelivery to the restarted consumer', () => seen.length === 1);
  await sleep(1_500);
  expect(seen).toEqual([{ id: 'k-1', deliveries: 2 }]);
  const info = await connection.jsm.consumers.info('TEST', spec.durable);
  expect(info.num_ack_pending).toBe(0);
});

test('a handler that always throws: retried with backoff, then dead-lettered with its reason', async () => {
  behaviour = (p) => {
    throw new Error(`model store unavailable for ${p.id}`);
  };
  const spec = consumer({ maxDeliver: 3 });
  await startApp(spec);
  await emit({ id: 'f-1', n: 7 });
  await until('the dead letter', () => deadLetters.length === 1);
  expect(seen.map((s) => s.deliveries)).toEqual([1, 2, 3]);
  expect(deadLetters[0]).toMatchObject({ kind: 'max-deliveries', subject, deliveries: 3, consumer: spec.durable });
  const [stored] = await storedDeadLetters(spec.durable);
  expect(stored?.headers[DeadLetterHeaders.reason]).toBe('handler failed on all 3 deliveries; last error: model store unavailable for f-1');
  expect(stored?.headers[DeadLetterHeaders.kind]).toBe('max-deliveries');
  expect(stored?.headers[DeadLetterHeaders.subject]).toBe(subject);
  expect(pingCodec.decode(stored!.data)).toEqual({ id: 'f-1', n: 7 });
  // Terminated: never delivered again.
  await sleep(1_500);
  expect(seen).toHaveLength(3);
});

test('a poison message is dead-lettered at once, without retries', async () => {
  behaviour = (p) => {
    if (p.n < 0) throw new PoisonMessageError(`ping ${p.id} has a negative count ${p.n}`);
  };
  const spec = consumer({ maxDeliver: 5 });
  await startApp(spec);
  await emit({ id: 'p-1', n: -1 });
  await emit({ id: 'p-2', n: 2 });
  await until('the good message after the poison one', () => seen.some((s) => s.id === 'p-2'));
  await until('the dead letter', () => deadLetters.length === 1);
  expect(seen.filter((s) => s.id === 'p-1')).toHaveLength(1);
  expect(deadLetters[0]).toMatchObject({ kind: 'poison', reason: 'ping p-1 has a negative count -1' });
});

test('an undecodable payload is dead-lettered and the consumer keeps going', async () => {
  const spec = consumer();
  await startApp(spec);
  await lastValueFrom(client.emit(subject, new JetStreamRecord(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))));
  await emit({ id: 'after-garbage', n: 1 });
  await until('the valid message after the garbage', () => seen.length === 1);
  await until('the dead letter', () => deadLetters.length === 1);
  expect(seen[0]?.id).toBe('after-garbage');
  expect(deadLetters[0]?.kind).toBe('undecodable');
  expect(deadLetters[0]?.reason).toMatch(/^cannot decode fedledger\.test\.Ping \(4 bytes\) from test\.ping\.\d+: /);
  const [stored] = await storedDeadLetters(spec.durable);
  expect(Array.from(stored!.data)).toEqual([0xff, 0xff, 0xff, 0xff]);
  expect(stored?.headers[DeadLetterHeaders.messageType]).toBe('fedledger.test.Ping');
});

test('the same Nats-Msg-Id published twice is delivered once', async () => {
  const spec = consumer();
  await startApp(spec);
  const first = await emit({ id: 'd-1', n: 1 }, 'update:exp1:3:bcdr');
  const second = await emit({ id: 'd-1', n: 1 }, 'update:exp1:3:bcdr');
  expect(first.duplicate).toBe(false);
  expect(second.duplicate).toBe(true);
  expect(second.seq).toBe(first.seq);
  // Without an explicit id the payload digest is the id: an identical retry is dropped too.
  const a = await emit({ id: 'd-2', n: 2 });
  const b = await emit({ id: 'd-2', n: 2 });
  expect(b.duplicate).toBe(true);
  expect(b.seq).toBe(a.seq);
  await until('both distinct messages', () => seen.length === 2);
  await sleep(1_500);
  expect(seen.map((s) => s.id)).toEqual(['d-1', 'd-2']);
});

test('a consumer bound to a handler that does not exist fails start-up with a clear error', async () => {
  const created = await createJetStreamMicroservice(
    PingModule,
    { connection, streams: [TEST_STREAM], consumers: [consumer({ handler: 'pong' })], deadLetter: TEST_DLQ },
    { logger: false },
  );
  await expect(created.app.listen()).rejects.toThrow(/bound to handler 'pong', but no @JetStreamEvent\('pong'\) exists \(handlers: ping\)/);
  await created.app.close();
});

test('on shutdown a handler still waiting is told to stop and its message goes back to the stream at once', async () => {
  let waiting: Promise<void> | undefined;
  const spec = consumer({ ackWaitMs: 30_000 });
  behaviourWithSignal = (signal) =>
    (waiting = new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped waiting')), { once: true })));
  await startApp(spec);
  await emit({ id: 's-1', n: 1 });
  await until('the handler to start waiting', () => waiting !== undefined);
  const closing = Date.now();
  await app!.close();
  app = undefined;
  expect(Date.now() - closing).toBeLessThan(2_000); // not the 30 s ack wait, not the shutdown timeout
  behaviourWithSignal = undefined;
  await startApp(spec);
  await until('the redelivery', () => seen.filter((s) => s.id === 's-1').length === 2);
  expect(seen.filter((s) => s.id === 's-1').map((s) => s.deliveries)).toEqual([1, 2]);
  expect(deadLetters).toEqual([]);
});
