import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { SpanKind, trace } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '@fedledger/telemetry';
import { startNats, type NatsFixture } from '@fedledger/testing';
import { createJetStreamMicroservice, JetStreamClientProxy, JetStreamConnection, JetStreamEvent, JetStreamRecord } from '../src';
import { pingCodec, TEST_DLQ, TEST_STREAM, type Ping } from './fixtures/ping';

const handledIn: string[] = [];

@Controller()
class TracedHandler {
  @JetStreamEvent('ping', pingCodec)
  handle(@Payload() ping: Ping): void {
    // The handler runs inside the consume span's context.
    handledIn.push(`${ping.id}:${trace.getActiveSpan()?.spanContext().traceId ?? 'none'}`);
  }
}

@Module({ controllers: [TracedHandler] })
class TracedModule {}

let telemetry: Telemetry;
let nats: NatsFixture;
let connection: JetStreamConnection;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'tracing-test', exporter: 'memory' });
  nats = await startNats();
  connection = await JetStreamConnection.connect({ servers: nats.url, name: 'tracing-test' });
});

afterAll(async () => {
  await connection?.drain();
  await nats?.stop();
  await telemetry?.shutdown();
});

test('the trace id of a publish is the trace id of the consume span', async () => {
  const { app } = await createJetStreamMicroservice(
    TracedModule,
    { connection, streams: [TEST_STREAM], consumers: [{ handler: 'ping', stream: 'TEST', durable: 'traced', filterSubjects: ['test.traced'] }], deadLetter: TEST_DLQ },
    { logger: false },
  );
  await app.listen();
  const client = new JetStreamClientProxy(connection);
  await lastValueFrom(client.emit('test.traced', new JetStreamRecord(pingCodec.encode({ id: 't-1', n: 1 }), { msgId: 't-1' })));

  const deadline = Date.now() + 10_000;
  const consumeSpan = () => telemetry.memory!.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER);
  while (!consumeSpan() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  await app.close();

  const spans = telemetry.memory!.getFinishedSpans();
  const producer = spans.find((s) => s.kind === SpanKind.PRODUCER && s.name === 'publish test.traced');
  const consumer = consumeSpan();
  expect(producer).toBeDefined();
  expect(consumer).toBeDefined();
  expect(consumer!.spanContext().traceId).toBe(producer!.spanContext().traceId);
  expect(consumer!.parentSpanContext?.spanId).toBe(producer!.spanContext().spanId);
  expect(handledIn).toEqual([`t-1:${producer!.spanContext().traceId}`]);
  expect(producer!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'test.traced', 'messaging.message.id': 't-1', 'messaging.nats.stream': 'TEST' });
  expect(consumer!.attributes).toMatchObject({
    'messaging.system': 'nats',
    'messaging.destination.name': 'test.traced',
    'messaging.consumer.group.name': 'traced',
    'messaging.nats.stream': 'TEST',
    'messaging.nats.stream.sequence': 1,
    'messaging.nats.delivery_count': 1,
  });
});
