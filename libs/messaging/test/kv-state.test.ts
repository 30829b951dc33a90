import { startNats, type NatsFixture } from '@fedledger/testing';
import { JetStreamConnection, jsonCodec, KvState, NoChange } from '../src';

interface RoundCounter {
  round: number;
  answered: string[];
}

let nats: NatsFixture;
let a: JetStreamConnection;
let b: JetStreamConnection;

beforeAll(async () => {
  nats = await startNats();
  a = await JetStreamConnection.connect({ servers: nats.url, name: 'kv-a' });
  b = await JetStreamConnection.connect({ servers: nats.url, name: 'kv-b' });
});

afterAll(async () => {
  await a?.drain();
  await b?.drain();
  await nats?.stop();
});

test('concurrent compare-and-set updates from two processes lose nothing', async () => {
  const codec = jsonCodec<RoundCounter>('RoundCounter');
  const left = await KvState.open(a, { bucket: 'rounds', codec, maxAttempts: 100 });
  const right = await KvState.open(b, { bucket: 'rounds', codec, maxAttempts: 100 });
  const centres = Array.from({ length: 20 }, (_, i) => `centre${i}`);
  await Promise.all(
    centres.map((c, i) =>
      (i % 2 ? left : right).update('exp1', (cur) => ({ round: 1, answered: [...(cur?.answered ?? []), c] })),
    ),
  );
  const final = await left.get('exp1');
  expect(final?.value.answered.slice().sort()).toEqual(centres.slice().sort());
});

test('create refuses an existing key; NoChange keeps the stored revision', async () => {
  const state = await KvState.open(a, { bucket: 'rounds2', codec: jsonCodec<RoundCounter>('RoundCounter') });
  const created = await state.create('exp2', { round: 1, answered: [] });
  expect(created?.revision).toBeGreaterThan(0);
  expect(await state.create('exp2', { round: 9, answered: [] })).toBeUndefined();
  const same = await state.update('exp2', () => {
    throw new NoChange();
  });
  expect(same).toEqual(created);
  expect((await state.get('exp2'))?.value.round).toBe(1);
});

test("the connection's replica count reaches what it provisions: 1 by default; 3 on a single server is refused by it", async () => {
  const codec = jsonCodec<RoundCounter>('RoundCounter');
  await KvState.open(a, { bucket: 'replicated-default', codec });
  expect((await a.jsm.streams.info('KV_replicated-default')).config.num_replicas).toBe(1);
  const three = await JetStreamConnection.connect({ servers: nats.url, name: 'kv-three', replicas: 3 });
  try {
    expect(three.replicas).toBe(3);
    await expect(KvState.open(three, { bucket: 'replicated-three', codec })).rejects.toThrow(/replicas|insufficient resources/i);
  } finally {
    await three.drain();
  }
});
