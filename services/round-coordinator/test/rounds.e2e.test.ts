import type { EventRecord } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';

// Real processes: nats-server, round-coordinator, aggregator and three centre-agents playing 1.5 s of training.
let fed: TestFederation;
const weights = [
  { name: 'dense/kernel', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 10) },
  { name: 'dense/bias', shape: [3], data: new Float32Array(3) },
];
const plan = (id: string, over: Record<string, unknown> = {}) => ({ id, rounds: 2, centres: ['c1', 'c2', 'c3'], minFitCentres: 3, roundDeadlineMs: 60_000, ...over });
const completedRounds = (events: EventRecord[]) => events.filter((e) => e.event === 'round.completed');

beforeAll(async () => {
  fed = await startTestFederation({ centres: ['c1', 'c2', 'c3'], env: { LOG_LEVEL: 'warn', TRAINER: 'noop', NOOP_DELAY_MS: '1500' } });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

test('the coordinator killed mid-round: after a restart the same round finishes, no centre gets a second task, no update is lost', async () => {
  const initialWeights = await fed.putWeights(weights);
  const id = await fed.run(plan('crash-coordinator', { initialWeights }));
  const w = fed.watch(id);
  await w.until((e) => e.event === 'round.started' && e.round === 1);
  await fed.federation.kill('round-coordinator');
  await new Promise((r) => setTimeout(r, 2_000)); // the centres answer while it is down
  await fed.federation.startPart('round-coordinator');
  const done = await w.until((e) => e.event === 'experiment.completed', 90_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');
  expect(completedRounds(w.events).map((e) => [e.round, e.centres, e.examples])).toEqual([
    [1, ['c1', 'c2', 'c3'], 300],
    [2, ['c1', 'c2', 'c3'], 300],
  ]);
  // One task per centre and round in the stream, whatever the restart re-dispatched.
  const connection = await fed.federation.connect();
  const info = await connection.jsm.streams.info('FL_TASKS', { subjects_filter: `fl.tasks.${id}.>` });
  expect(Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(6);
}, 120_000);

test('the aggregator killed (SIGKILL) mid-round and started again: no update lost or counted twice', async () => {
  const initialWeights = await fed.putWeights(weights);
  const id = await fed.run(plan('crash-aggregator', { initialWeights, rounds: 1 }));
  const w = fed.watch(id);
  await w.until((e) => e.event === 'update.accepted');
  await fed.federation.kill('aggregator');
  await fed.federation.startPart('aggregator');
  const done = await w.until((e) => e.event === 'experiment.completed', 90_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');
  expect(completedRounds(w.events).map((e) => [e.round, e.centres, e.examples])).toEqual([[1, ['c1', 'c2', 'c3'], 300]]);
}, 120_000);

test('a centre killed mid-round: the round completes with the others when the quorum allows', async () => {
  const initialWeights = await fed.putWeights(weights);
  const id = await fed.run(plan('crash-centre', { initialWeights, rounds: 1, minFitCentres: 2, roundDeadlineMs: 6_000 }));
  const w = fed.watch(id);
  await w.until((e) => e.event === 'round.started');
  await fed.federation.kill('centre-c3');
  const done = await w.until((e) => e.event === 'experiment.completed', 90_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');
  expect(completedRounds(w.events).map((e) => [e.centres, e.missing])).toEqual([[['c1', 'c2'], ['c3']]]);
  await fed.federation.startPart('centre-c3');
}, 120_000);
