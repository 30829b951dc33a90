import { existsSync } from 'node:fs';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { tcpAnswers } from '@fedledger/local-stack';
import { startNats, type NatsFixture } from '../src';

async function streamMessages(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

describe('startNats', () => {
  let nats: NatsFixture;

  beforeAll(async () => {
    nats = await startNats();
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it('listens on loopback with JetStream file storage in the store dir', async () => {
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(await tcpAnswers('127.0.0.1', nats.port)).toBe(true);

    const nc = await connect({ servers: nats.url, maxReconnectAttempts: 0 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'ROUNDS', subjects: ['rounds.>'] });
      await jetstream(nc).publish('rounds.1', new TextEncoder().encode('opened'));
    } finally {
      await nc.close();
    }
    expect(existsSync(path.join(nats.storeDir, 'jetstream', '$G', 'streams', 'ROUNDS'))).toBe(true);
  });

  it('kill + restart comes back on the same port with the same store dir', async () => {
    await nats.kill();
    expect(await tcpAnswers('127.0.0.1', nats.port)).toBe(false);

    await nats.restart();
    expect(await tcpAnswers('127.0.0.1', nats.port)).toBe(true);
    expect(await streamMessages(nats.url, 'ROUNDS')).toBe(1);

    await nats.restart(); // graceful stop + start
    expect(await streamMessages(nats.url, 'ROUNDS')).toBe(1);
  });

  it('stop() ends the process and deletes the temp dir', async () => {
    const extra = await startNats({ maxPayload: 16 * 1024 * 1024 });
    expect(await tcpAnswers('127.0.0.1', extra.port)).toBe(true);
    await extra.stop();
    expect(await tcpAnswers('127.0.0.1', extra.port)).toBe(false);
    expect(existsSync(extra.storeDir)).toBe(false);
  });
});
