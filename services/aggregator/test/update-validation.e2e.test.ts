import { centrePrincipal, CentreHeartbeat, ModelUpdate, subjects } from '@fedledger/contracts';
import { decodeWeights, encodeWeights, type WeightTensor } from '@fedledger/fl-core';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { JetStreamPublisher } from '@fedledger/messaging';

// Real coordinator and aggregator; the test plays the two centres a and b over the real protocol.
let fed: TestFederation;
const global: WeightTensor[] = [
  { name: 'conv1/kernel', shape: [3, 3, 1, 2], data: new Float32Array(18).fill(1) },
  { name: 'conv1/bias', shape: [2], data: new Float32Array(2) },
];
const tensorsWith = (value: number, over: Partial<WeightTensor> = {}): WeightTensor[] => [
  { ...global[0]!, data: new Float32Array(18).fill(value), ...over },
  { ...global[1]!, data: new Float32Array(2).fill(value) },
];

beforeAll(async () => {
  // The aggregator takes weights blobs up to 64 KiB here (BLOB_MAX_BYTES), so a blob over it is cheap to make.
  fed = await startTestFederation({ centres: [], env: { LOG_LEVEL: 'error' }, envOf: { 'round-coordinator': { CENTRES_WAIT_MS: '1500' }, aggregator: { BLOB_MAX_BYTES: String(64 * 1024) } } });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

async function waitForCentres(ids: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const centres = (await (await fetch(`${fed.federation.apiUrl}/centres`)).json()) as { centreId: string; available: boolean }[];
    if (ids.every((id) => centres.some((c) => c.centreId === id && c.available))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`centres ${ids.join(', ')} never became available`);
}

/** An update from `centre`; `as` publishes it on another centre's subject, `blobsOf` stores its weights in another centre's scope. */
async function send(exp: string, round: number, centre: string, tensors: WeightTensor[], numExamples: number, msgId: string, o: { as?: string; blobsOf?: string } = {}): Promise<void> {
  const blobs = await fed.federation.blobStore(centrePrincipal(o.blobsOf ?? centre));
  const weights = await blobs.put(encodeWeights(tensors));
  const update = ModelUpdate.create({ experimentId: exp, round, centreId: centre, taskId: `${exp}-r${round}-a0-${centre}`, weights, numExamples, metrics: [{ name: 'loss', value: 0.5 }] });
  await new JetStreamPublisher(await fed.federation.connect()).publish(subjects.update(exp, round, o.as ?? centre), ModelUpdate.encode(update).finish(), { msgId });
}

test('bad updates are rejected with reasons, the same update twice counts once, and the round completes with the good ones', async () => {
  // The centres announce themselves as real agents do, so the coordinator counts them available.
  const publisher = new JetStreamPublisher(await fed.federation.connect());
  for (const centreId of ['a', 'b']) {
    await publisher.publish(subjects.heartbeat(centreId), CentreHeartbeat.encode(CentreHeartbeat.create({ centreId, agentVersion: 'test', sentAtUnixMs: Date.now() })).finish());
  }
  await waitForCentres(['a', 'b']);
  const initialWeights = await fed.putWeights(global);
  // A rejected update counts as its centre's answer: when both centres' bad updates are judged before their good ones,
  // the round is all answered without a quorum and is retried (the good ones still count). Retries enough for any order.
  const exp = await fed.run({ id: 'validation', initialWeights, rounds: 1, centres: ['a', 'b'], minFitCentres: 2, roundDeadlineMs: 60_000, maxRoundRetries: 10 });
  const w = fed.watch(exp);
  await w.until((e) => e.event === 'round.started');

  await send(exp, 1, 'zz', tensorsWith(2), 10, 'm1');
  await send(exp, 1, 'a', tensorsWith(Number.NaN), 10, 'm2');
  await send(exp, 1, 'a', tensorsWith(2, { shape: [3, 3, 1, 2], data: new Float32Array(18).fill(2), name: 'conv2/kernel' }), 10, 'm3');
  await send(exp, 1, 'b', [{ name: 'conv1/kernel', shape: [3, 3, 1, 1], data: new Float32Array(9) }, global[1]!], 10, 'm4');
  await send(exp, 7, 'a', tensorsWith(2), 10, 'm5');
  await send(exp, 1, 'a', tensorsWith(3), 10, 'm6');
  await send(exp, 1, 'a', tensorsWith(3), 10, 'm7'); // the same update again, under another message id
  await send(exp, 1, 'b', tensorsWith(6), 30, 'm8');

  const done = await w.until((e) => e.event === 'experiment.completed', 60_000);
  expect(done.outcome).toBe('EXPERIMENT_OUTCOME_SUCCEEDED');
  // Updates are checked concurrently, so their rejections come in any order.
  const rejected = w.events.filter((e) => e.event === 'update.rejected').map((e) => [e.centreId, e.code, e.reason]).sort((x, y) => String(x[2]).localeCompare(String(y[2])));
  expect(rejected).toEqual([
    ['zz', 'REJECT_REASON_UNKNOWN_CENTRE', 'centre zz was not given a task in round 1 of experiment validation (tasked: a, b)'],
    ['a', 'REJECT_REASON_ROUND_CLOSED', 'update from centre a is for round 7, but experiment validation is in round 1'],
    ['a', 'REJECT_REASON_SHAPE_MISMATCH', 'update from centre a rejected: tensor #0 is conv2/kernel, expected conv1/kernel'],
    ['a', 'REJECT_REASON_NON_FINITE', 'update from centre a rejected: tensor conv1/kernel has NaN at index 0'],
    ['b', 'REJECT_REASON_SHAPE_MISMATCH', 'update from centre b rejected: tensor conv1/kernel has shape [3,3,1,1], expected [3,3,1,2]'],
  ]);
  // Accepted in whatever order their folds finish.
  const accepted = w.events.filter((e) => e.event === 'update.accepted').map((e) => String(e.centreId)).sort();
  expect(accepted).toEqual(['a', 'b']);
  const round = w.events.find((e) => e.event === 'round.completed')!;
  expect(round).toMatchObject({ centres: ['a', 'b'], examples: 40 });

  // FedAvg of a (3, 10 examples) and b (6, 30 examples) = (30 + 180) / 40 = 5.25 everywhere.
  const blobs = await fed.federation.blobStore();
  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/${exp}`)).json()) as { globalWeights: { blobId: string; sha256: string; sizeBytes: number } };
  const aggregate = decodeWeights(await blobs.getBytes(state.globalWeights));
  expect(Array.from(aggregate[0]!.data)).toEqual(new Array(18).fill(5.25));
  expect(Array.from(aggregate[1]!.data)).toEqual([5.25, 5.25]);
}, 120_000);

test('an experiment does not start until its minimum of centres is available, and says who is missing', async () => {
  const initialWeights = await fed.putWeights(global);
  await expect(fed.run({ id: 'lonely', initialWeights, rounds: 1, centres: ['a', 'ghost1', 'ghost2'], minAvailableCentres: 2, minFitCentres: 1 })).rejects.toThrow(
    'experiment lonely needs 2 available centres to start, 1 are (no heartbeat in the last 30 s from ghost1, ghost2)',
  );
}, 60_000);

test("an update counts only from the centre its subject names, with weights from that centre's own blob scope, within the size limits and with a sane example count", async () => {
  // Checked before anything else, so an experiment is not even needed; the operator can publish what NATS refuses a centre.
  const w = fed.watch('forged');
  await send('forged', 1, 'a', tensorsWith(2), 10, 'f1', { as: 'b' }); // a's update on b's subject
  await send('forged', 1, 'b', tensorsWith(2), 10, 'f2', { blobsOf: 'a' }); // a's weights passed off as b's
  await send('forged', 1, 'b', tensorsWith(2), 4_000_000_000, 'f3'); // buying the round's average (the field is a uint32)
  await send('forged', 1, 'c', [{ name: 'huge', shape: [20_000], data: new Float32Array(20_000) }], 10, 'f4'); // 80 KB of weights
  // A message over the server's max_payload (8 MB) never gets onto a stream: the client is refused before sending.
  const oversized = ModelUpdate.encode(ModelUpdate.create({ experimentId: 'forged', round: 1, centreId: 'b', taskId: 't', metrics: [{ name: 'x'.repeat(9 * 1024 * 1024), value: 1 }] })).finish();
  await expect(new JetStreamPublisher(await fed.federation.connect()).publish(subjects.update('forged', 1, 'b'), oversized, { msgId: 'f5' })).rejects.toThrow(/max_payload|MAX_PAYLOAD/i);
  await w.until(() => w.events.filter((e) => e.event === 'update.rejected').length === 4, 30_000);
  const rejected = w.events.map((e) => [e.centreId, e.code, e.reason]).sort((x, y) => String(x[2]).localeCompare(String(y[2])));
  expect(rejected).toEqual([
    ['b', 'REJECT_REASON_MALFORMED', 'update from centre b claims 4000000000 examples; it must be an integer 1..100000000 (UPDATE_MAX_EXAMPLES)'],
    ['b', 'REJECT_REASON_MALFORMED', expect.stringMatching(/^update from centre b: weights blob centre-a\.\w+ is not in the centre's own blob scope centre-b$/)],
    ['c', 'REJECT_REASON_MALFORMED', 'update from centre c: weights blob of 80064 bytes exceeds the 65536 byte limit (BLOB_MAX_BYTES)'],
    ['a', 'REJECT_REASON_MALFORMED', 'update naming centre a, experiment forged, round 1 was published on fl.updates.forged.1.b'],
  ]);
}, 60_000);
