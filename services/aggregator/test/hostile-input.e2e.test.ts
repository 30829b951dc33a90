import fc from 'fast-check';
import { centrePrincipal, CentreHeartbeat, ModelUpdate, streams, subjects } from '@fedledger/contracts';
import { encodeWeights } from '@fedledger/fl-core';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { DeadLetterHeaders, JetStreamPublisher } from '@fedledger/messaging';

// Real coordinator and aggregator fed random and mutated payloads on the subjects they consume (property-based):
// nothing crashes, what cannot be decoded is dead-lettered with its reason, and an honest round still completes.
let fed: TestFederation;

beforeAll(async () => {
  fed = await startTestFederation({ centres: [], env: { LOG_LEVEL: 'error' }, envOf: { 'round-coordinator': { CENTRES_WAIT_MS: '1500' } } });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

test('random and mutated messages never crash the coordinator or the aggregator; an honest round completes afterwards', async () => {
  const connection = await fed.federation.connect();
  const publisher = new JetStreamPublisher(connection);
  const blobs = await fed.federation.blobStore(centrePrincipal('c1'));
  const weights = await blobs.put(encodeWeights([{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4).fill(1) }]));
  const valid = ModelUpdate.encode(ModelUpdate.create({ experimentId: 'ghost', round: 1, centreId: 'c1', taskId: 't', weights, numExamples: 10 })).finish();
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(subjects.update('ghost', 1, 'c1'), subjects.heartbeat('c1'), 'fl.events.ghost.task.failed', 'fl.events.ghost.update.accepted', 'fl.aggregates.ghost.1', 'fl.control.ghost.1.close'),
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // a valid update with bytes flipped, cut or appended
        fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(valid.length)).map(([at, xor, cut]) => {
          const b = Uint8Array.from(valid);
          b[at] = b[at]! ^ xor;
          return b.subarray(0, Math.max(1, cut));
        }),
      ),
      async (subject, payload) => {
        await publisher.publish(subject, payload);
        sent += 1;
      },
    ),
    { numRuns: 200 },
  );
  expect(sent).toBe(200);
  // Every service still answers, and the undecodable messages went to the dead-letter stream with a reason.
  for (const service of ['round-coordinator', 'aggregator']) {
    const health = await connection.nc.request(subjects.health(service), '', { timeout: 5_000 });
    expect(health.json<{ status: string }>()).toMatchObject({ status: 'ok' });
  }
  let dead = 0;
  for (let i = 0; i < 100 && dead === 0; i++) {
    dead = (await connection.jsm.streams.info(streams.FL_DLQ.name)).state.messages;
    if (dead === 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(dead).toBeGreaterThan(0);
  const last = await connection.jsm.streams.getMessage(streams.FL_DLQ.name, { last_by_subj: 'fl.dlq.>' });
  expect(last?.header.get(DeadLetterHeaders.reason)).toMatch(/.+/);

  // An honest experiment on the same services still runs to completion.
  await publisher.publish(subjects.heartbeat('c1'), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId: 'c1', agentVersion: 'test', sentAtUnixMs: Date.now() })).finish());
  const initialWeights = await fed.putWeights([{ name: 'dense/kernel', shape: [2, 2], data: new Float32Array(4) }]);
  const exp = await fed.run({ id: 'after-hostile', initialWeights, rounds: 1, centres: ['c1'], minFitCentres: 1, roundDeadlineMs: 60_000 });
  const w = fed.watch(exp);
  await w.until((e) => e.event === 'round.started');
  const update = ModelUpdate.create({ experimentId: exp, round: 1, centreId: 'c1', taskId: `${exp}-r1-a0-c1`, weights, numExamples: 10 });
  await publisher.publish(subjects.update(exp, 1, 'c1'), ModelUpdate.encode(update).finish());
  expect(await w.until((e) => e.event === 'experiment.completed', 60_000)).toMatchObject({ outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED' });
}, 180_000);
