import fc from 'fast-check';
import { EvaluationReported, isSubjectToken, ModelUpdate, streams, subjects, TASK_LIMITS, TaskFailed, TaskKind, TrainingTask, type ITrainingTask } from '@fedledger/contracts';
import { encodeWeights } from '@fedledger/fl-core';
import { BlobStore, DeadLetterHeaders, JetStreamConnection, protobufCodec, type BlobRef } from '@fedledger/messaging';
import { spawnService, startNats, type NatsFixture, type ServiceProcess } from '@fedledger/testing';

/**
 * A real centre-agent (noop trainer, no ledger) on a real nats-server, fed hostile tasks on its own task subject
 * (property-based, fast-check): random bytes, valid tasks with bytes flipped, cut or appended, and well-formed tasks
 * with one hostile field. The agent stays alive and healthy; every hostile task is dead-lettered with its reason (and,
 * when it is this centre's and its ids can be carried, reported to the coordinator as TaskFailed naming the field),
 * except a task whose deadline has passed (dropped with a log line); nothing is trained that should not be; an honest
 * task is still trained afterwards.
 *
 * The property only publishes: a task the agent retries is answered some 36 s later, so the verdicts come after the
 * agent has settled, one line per offending message (fast-check's shrinking does not apply to them).
 */
const EXP = 'exp-h';
const CENTRE = 'inbreast';
const CONSUMER = `centre-${CENTRE}`;
/** The limits every experiment plan keeps to, which the agent enforces. */
const LIMITS = TASK_LIMITS;
/** How long the agent may take to answer everything: a task it retries is given up after 1 + 5 + 15 + 15 s of backoff. */
const SETTLE_MS = 50_000;

type TaskInit = ITrainingTask;
const codec = protobufCodec<TrainingTask>(TrainingTask, 'fedledger.fl.v1.TrainingTask');

let nats: NatsFixture;
let connection: JetStreamConnection;
let agent: ServiceProcess;
let weights: BlobRef;
let exitCode: number | null | undefined;
let ids = 0;

/** How the agent must answer a well-formed task with one hostile field. */
interface Expectation {
  /** `poison` and `undecodable`: dead-lettered at once; `max-deliveries`: retried, then dead-lettered; `skipped`: acked and logged; `trained`: an update. */
  outcome: 'poison' | 'undecodable' | 'max-deliveries' | 'skipped' | 'trained';
  /** What the dead letter's reason (and the TaskFailed's) must say: the field and why. */
  reason?: RegExp;
  /** Whether the coordinator is told (a TaskFailed for the task id). */
  reported: boolean;
}

interface FieldCase {
  what: string;
  changes: TaskInit;
  expect: Expectation;
}

/** One message the test sent on the agent's task subject, and what it knows of it. */
interface Sent {
  seq: number;
  family: 'random' | 'mutated' | 'field' | 'honest';
  /** The task as the agent decodes it (undefined: the agent cannot decode it either). */
  decoded?: TrainingTask;
  field?: FieldCase;
}
const sent: Sent[] = [];

const honestTask = (changes: TaskInit = {}): TaskInit => ({
  experimentId: EXP,
  round: 1,
  centreId: CENTRE,
  taskId: `${EXP}-t${++ids}`,
  globalWeights: weights,
  epochs: 1,
  batchSize: 8,
  learningRate: 0.1,
  kind: TaskKind.TASK_KIND_TRAIN,
  modelArchitecture: 'dense-test',
  datasetId: 'ds-h',
  deadlineUnixMs: Date.now() + 600_000,
  ...changes,
});

const encode = (task: TaskInit) => TrainingTask.encode(TrainingTask.create(task)).finish();

/**
 * The task as the agent decodes it, or undefined. From a Buffer, as the agent's NATS client hands it over: protobufjs
 * reads a Buffer more leniently than a plain Uint8Array (a string running past the end is cut, not refused).
 */
function decodeLikeTheAgent(bytes: Uint8Array): TrainingTask | undefined {
  try {
    return codec.decode(Buffer.from(bytes));
  } catch {
    return undefined;
  }
}

async function send(family: Sent['family'], bytes: Uint8Array, field?: FieldCase): Promise<Sent> {
  const ack = await connection.js.publish(subjects.task(EXP, CENTRE), bytes, { msgID: `hostile-test-${++ids}` });
  const s: Sent = { seq: ack.seq, family, decoded: decodeLikeTheAgent(bytes), ...(field ? { field } : {}) };
  sent.push(s);
  return s;
}

/** Whether the agent may train this task: what this test says the agent accepts (its spec, not its code). */
function mayTrain(t: TrainingTask): boolean {
  const ref = t.globalWeights;
  return (
    t.centreId === CENTRE &&
    t.kind === TaskKind.TASK_KIND_TRAIN &&
    isSubjectToken(t.experimentId) &&
    /^[\x21-\x7e]{1,256}$/.test(t.taskId) &&
    t.round >= 1 &&
    ref?.blobId === weights.blobId &&
    ref.sha256 === weights.sha256 &&
    Number(ref.sizeBytes) === weights.sizeBytes &&
    Number.isInteger(t.epochs) &&
    t.epochs >= 1 &&
    t.epochs <= LIMITS.epochs &&
    t.batchSize >= 1 &&
    t.batchSize <= LIMITS.batchSize &&
    Number.isFinite(t.learningRate) &&
    t.learningRate > 0 &&
    t.learningRate <= LIMITS.learningRate &&
    Number.isFinite(t.strategy?.proximalMu ?? 0) &&
    (t.strategy?.proximalMu ?? 0) >= 0 &&
    !(Number(t.deadlineUnixMs) > 0 && Number(t.deadlineUnixMs) < Date.now())
  );
}

/** Every message of a stream, in order (read by sequence: no consumer state). */
async function all(stream: string): Promise<{ subject: string; data: Uint8Array; header: (name: string) => string }[]> {
  const info = await connection.jsm.streams.info(stream);
  const out: { subject: string; data: Uint8Array; header: (name: string) => string }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await connection.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push({ subject: m.subject, data: m.data, header: (name) => m.header?.get(name) ?? '' });
  }
  return out;
}

/** Until the agent's consumer has acked or given up every message up to `seq` (nothing in flight or waiting to be retried). */
async function settled(seq: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await connection.jsm.consumers.info(streams.FL_TASKS.name, CONSUMER);
    if (info.ack_floor.stream_seq >= seq && info.num_pending === 0 && info.num_ack_pending === 0) return;
    if (exitCode !== undefined) throw new Error(`the agent exited with ${exitCode}:\n${agent.output().slice(-4000)}`);
    if (Date.now() > deadline) {
      throw new Error(`the agent has not answered every task within ${timeoutMs} ms (ack floor ${info.ack_floor.stream_seq} of ${seq}, ${info.num_ack_pending} in flight):\n${agent.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the agent answered so far: dead letters by task-stream sequence, failures, updates and evaluations by task id. */
async function answers() {
  const dead = new Map<number, { kind: string; reason: string }>();
  for (const m of await all(streams.FL_DLQ.name)) dead.set(Number(m.header(DeadLetterHeaders.sequence)), { kind: m.header(DeadLetterHeaders.kind), reason: m.header(DeadLetterHeaders.reason) });
  const failed = new Map<string, TaskFailed>();
  const evaluated = new Set<string>();
  for (const m of await all(streams.FL_EVENTS.name)) {
    if (m.subject.includes('.task.failed.')) {
      const f = TaskFailed.decode(m.data);
      failed.set(f.taskId, f);
    } else if (m.subject.includes('.evaluation.reported.')) {
      evaluated.add(EvaluationReported.decode(m.data).evaluation?.taskId ?? '');
    }
  }
  return { dead, failed, evaluated, updates: await updatesByTask() };
}

async function updatesByTask(): Promise<Map<string, ModelUpdate>> {
  const updates = new Map<string, ModelUpdate>();
  for (const m of await all(streams.FL_UPDATES.name)) {
    const u = ModelUpdate.decode(m.data);
    updates.set(u.taskId, u);
  }
  return updates;
}

/** An update for this task within `timeoutMs` (the honest task before and after the hostile ones). */
async function trained(taskId: string, timeoutMs = 15_000): Promise<ModelUpdate> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const update = (await updatesByTask()).get(taskId);
    if (update) return update;
    if (Date.now() > deadline) throw new Error(`no update for ${taskId} within ${timeoutMs} ms:\n${agent.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  nats = await startNats();
  connection = await JetStreamConnection.connect({ servers: nats.url, name: 'hostile-tasks-test' });
  // The agent provisions nothing: the streams it uses are the platform's, made here (the dead letters' too).
  for (const s of [streams.FL_TASKS, streams.FL_UPDATES, streams.FL_EVENTS, streams.FL_DLQ]) await connection.jsm.streams.add({ name: s.name, subjects: [...s.subjects] });
  const blobs = await BlobStore.open(connection, { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: 'operator' });
  weights = await blobs.put(encodeWeights([{ name: 'dense/kernel', shape: [4, 2], data: new Float32Array(8).fill(0.5) }]));
  agent = spawnService('centre-agent', nats.url, { CENTRE_ID: CENTRE, TRAINER: 'noop', LEDGER: 'none', HEARTBEAT_INTERVAL_MS: '60000' });
  void agent.exited().then((code) => (exitCode = code));
  await agent.ready();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await connection?.drain();
  await nats?.stop();
});

const uint32 = (n: number) => n >>> 0;

/** Well-formed tasks with one hostile field, each with how the agent must answer it. */
const fieldCase: fc.Arbitrary<FieldCase> = fc.oneof(
  fc.constantFrom('bcdr', '', 'INBREAST', 'inbreast ', 'inbreast\u0000', '*', '医院', 'x'.repeat(5_000)).map((centreId) => ({
    what: `centreId ${JSON.stringify(centreId.slice(0, 20))}`,
    changes: { centreId },
    // Another centre's task is never trained, and the coordinator is not told on its behalf.
    expect: { outcome: 'poison' as const, reason: /is addressed to centre/, reported: false },
  })),
  fc.constant<FieldCase>({ what: 'kind UNSPECIFIED', changes: { kind: TaskKind.TASK_KIND_UNSPECIFIED }, expect: { outcome: 'poison', reason: /task kind 0 is not supported/, reported: true } }),
  fc.oneof(fc.integer({ min: 3, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: -1 })).map((kind) => ({
    what: `kind ${kind}`,
    changes: { kind: kind as TaskKind },
    expect: { outcome: 'undecodable' as const, reason: /cannot decode fedledger\.fl\.v1\.TrainingTask .*kind: enum value expected/, reported: false },
  })),
  fc.constantFrom<TaskInit>({ globalWeights: null }, { globalWeights: {} }).map((changes) => ({ what: 'no global weights', changes, expect: { outcome: 'poison' as const, reason: /globalWeights: the task has no global weights reference/, reported: true } })),
  fc.constantFrom('..', 'operator', 'operator.', 'a.b.c', 'operator.key with space', '../../etc/passwd', 'operator.k*', 'operator.>', '\u0000', 'operator.ü').map((blobId) => ({
    what: `blobId ${JSON.stringify(blobId)}`,
    changes: { globalWeights: { ...weights, blobId } },
    expect: { outcome: 'poison' as const, reason: /globalWeights\.blobId .* is not a blob id/, reported: true },
  })),
  fc.stringMatching(/^[a-z0-9]{8,20}$/).map((key) => ({
    what: `blobId of no blob`,
    changes: { globalWeights: { ...weights, blobId: `operator.nosuch${key}` } },
    // Retried (a replica may not have the blob yet), then given up: the last delivery tells the coordinator.
    expect: { outcome: 'max-deliveries' as const, reason: /not found/, reported: true },
  })),
  fc.constantFrom('xyz', 'SHA', 'sha256:0123', `${'A'.repeat(64)}`, `${'0'.repeat(63)}g`, `${'0'.repeat(65)}`).map((sha256) => ({
    what: `sha256 ${sha256}`,
    changes: { globalWeights: { ...weights, sha256 } },
    expect: { outcome: 'poison' as const, reason: /globalWeights\.sha256 .* is not a digest/, reported: true },
  })),
  fc.stringMatching(/^[0-9a-f]{64}$/).map((sha256) => ({
    what: 'sha256 of other bytes',
    changes: { globalWeights: { ...weights, sha256 } },
    expect: { outcome: 'max-deliveries' as const, reason: /reference digest/, reported: true },
  })),
  fc.constantFrom(0, -1, 2 ** 31 + 1, 2 ** 40, 2 ** 53, 1e18).map((sizeBytes) => ({
    what: `sizeBytes ${sizeBytes}`,
    changes: { globalWeights: { ...weights, sizeBytes } },
    expect: { outcome: 'poison' as const, reason: /globalWeights\.sizeBytes \d+ is not a blob size this agent reads/, reported: true },
  })),
  // (`weights` is read when a value is generated, after beforeAll stored the blob.)
  fc.constant(1).map((more) => ({ what: 'sizeBytes off by one', changes: { globalWeights: { ...weights, sizeBytes: weights.sizeBytes + more } }, expect: { outcome: 'max-deliveries' as const, reason: /reference size/, reported: true } })),
  fc.oneof(fc.constantFrom(0, -1, LIMITS.epochs + 1, 1e9, 2 ** 32 - 1), fc.integer({ min: LIMITS.epochs + 1, max: 2 ** 32 - 1 })).map((epochs) => ({
    what: `epochs ${epochs}`,
    changes: { epochs },
    expect: { outcome: 'poison' as const, reason: new RegExp(`epochs ${uint32(epochs)} is out of range: expected an integer in 1\\.\\.${LIMITS.epochs}`), reported: true },
  })),
  fc.constantFrom(0, -5, LIMITS.batchSize + 1, 2 ** 32 - 1).map((batchSize) => ({
    what: `batchSize ${batchSize}`,
    changes: { batchSize },
    expect: { outcome: 'poison' as const, reason: new RegExp(`batchSize ${uint32(batchSize)} is out of range`), reported: true },
  })),
  fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -0.1, 10.5, 1e300), fc.double({ min: -1e308, max: 0 }), fc.double({ min: 10.000001, max: 1e308, noNaN: true })).map((learningRate) => ({
    what: `learningRate ${learningRate}`,
    changes: { learningRate },
    expect: { outcome: 'poison' as const, reason: /learningRate \S+ is out of range: expected a finite number in \(0, 10\]/, reported: true },
  })),
  fc.constantFrom(NaN, -1, Infinity).map((proximalMu) => ({
    what: `proximalMu ${proximalMu}`,
    changes: { strategy: { proximalMu } },
    expect: { outcome: 'poison' as const, reason: /strategy\.proximalMu \S+ is out of range/, reported: true },
  })),
  fc.constant<FieldCase>({ what: 'round 0', changes: { round: 0 }, expect: { outcome: 'poison', reason: /round 0: rounds start at 1/, reported: true } }),
  fc.constantFrom(1, 1_000_000_000_000).map((deadlineUnixMs) => ({
    what: `deadline ${deadlineUnixMs} (past)`,
    changes: { deadlineUnixMs },
    // A task whose round is over is dropped with a log line (the coordinator has moved on; nothing to report).
    expect: { outcome: 'skipped' as const, reported: false },
  })),
  fc.oneof(fc.constantFrom('', 'a.b', 'a b', '*', '>', '实验', 'x'.repeat(129), 'x'.repeat(100_000)), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !isSubjectToken(s))).map((experimentId) => ({
    what: `experimentId ${JSON.stringify(experimentId.slice(0, 20))}`,
    changes: { experimentId },
    // No subject can carry it: only the dead letter tells.
    expect: { outcome: 'poison' as const, reason: /experimentId .* is not an experiment id/, reported: false },
  })),
  fc.constantFrom('', 'a b', 'line\nbreak', 'x'.repeat(257), 'ü', '\r\nNats-Msg-Id: forged').map((taskId) => ({
    what: `taskId ${JSON.stringify(taskId.slice(0, 20))}`,
    changes: { taskId },
    expect: { outcome: 'poison' as const, reason: /taskId .* is not a task id/, reported: false },
  })),
  fc.constantFrom('', 'no-such-model', '../../etc/passwd', 'x'.repeat(10_000), '🦄').map((modelArchitecture) => ({
    what: `modelArchitecture ${JSON.stringify(modelArchitecture.slice(0, 20))}`,
    changes: { modelArchitecture },
    // The noop trainer builds no model, so it has nothing to refuse; the tfjs trainer refuses an unknown model
    // (IncompatibleJobError, dead-lettered with "unknown model": round-coordinator evaluation.e2e.test).
    expect: { outcome: 'trained' as const, reported: false },
  })),
);

/** A valid task's encoding with bytes flipped, then cut, then garbage appended (each step maybe). */
const mutation = fc.record({
  flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
  cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  garbage: fc.uint8Array({ maxLength: 24 }),
});

describe('centre-agent under hostile tasks', () => {
  it('trains an honest task (the setup works)', async () => {
    const task = honestTask();
    await send('honest', encode(task));
    expect(await trained(task.taskId!)).toMatchObject({ experimentId: EXP, round: 1, centreId: CENTRE, numExamples: 100 });
  });

  it('dead-letters random, mutated and hostile tasks with their reason, reports its own with the field, trains none it should not, stays healthy, and still trains an honest task (property-based)', async () => {
    const families = { random: 0, mutated: 0, field: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ family: 'random' as const, bytes })) },
          { weight: 2, arbitrary: mutation.map((m) => ({ family: 'mutated' as const, m })) },
          { weight: 4, arbitrary: fieldCase.map((c) => ({ family: 'field' as const, c })) },
        ),
        async (input) => {
          families[input.family] += 1;
          if (input.family === 'random') return void (await send('random', input.bytes));
          if (input.family === 'mutated') {
            const b = Uint8Array.from(encode(honestTask()));
            for (const [at, xor] of input.m.flips) b[Math.floor(at * b.length)]! ^= xor;
            const cut = input.m.cut === undefined ? b : b.subarray(0, Math.floor(input.m.cut * b.length));
            return void (await send('mutated', Uint8Array.from([...cut, ...input.m.garbage])));
          }
          await send('field', encode(honestTask(input.c.changes)), input.c);
        },
      ),
      { numRuns: 150 },
    );
    expect(Object.values(families).every((n) => n > 0)).toBe(true);

    // Everything answered (retried tasks given up), and then the checks, message by message.
    await settled(sent[sent.length - 1]!.seq, SETTLE_MS);
    const { dead, failed, evaluated, updates } = await answers();
    const output = agent.output();
    const problems: string[] = [];
    const allowedUpdates = new Set<string>();
    for (const s of sent) {
      const t = s.decoded;
      const dl = dead.get(s.seq);
      const label = `#${s.seq} ${s.family}${s.field ? ` (${s.field.what})` : ''}`;
      if (dl && dl.reason.trim() === '') problems.push(`${label}: dead-lettered without a reason`);
      if (s.family === 'honest') {
        allowedUpdates.add(t!.taskId);
        continue;
      }
      if (!t) {
        // Cannot be decoded: dead-lettered as such, with the decoder's reason.
        if (dl?.kind !== 'undecodable') problems.push(`${label}: undecodable, but ${dl ? `dead-lettered as ${dl.kind}: ${dl.reason.slice(0, 200)}` : 'not dead-lettered'}`);
        continue;
      }
      const skippedLog = output.includes(`task ${t.taskId} (experiment ${t.experimentId}, round ${t.round}): deadline passed`);
      if (s.family === 'field') {
        const e = s.field!.expect;
        const f = failed.get(t.taskId);
        if (e.outcome === 'trained') {
          if (!updates.has(t.taskId)) problems.push(`${label}: not trained`);
          allowedUpdates.add(t.taskId);
        } else if (e.outcome === 'skipped') {
          if (dl || !skippedLog) problems.push(`${label}: expected skipped for its deadline, got ${dl ? `a ${dl.kind} dead letter` : 'no log line'}`);
        } else if (dl?.kind !== e.outcome || !e.reason!.test(dl.reason)) {
          problems.push(`${label}: expected a ${e.outcome} dead letter matching ${e.reason}, got ${dl ? `${dl.kind}: ${dl.reason.slice(0, 300)}` : 'none'}`);
        }
        if (e.reported && !(f && e.reason!.test(f.reason))) problems.push(`${label}: expected a TaskFailed matching ${e.reason}, got ${f ? f.reason.slice(0, 300) : 'none'}`);
        if (!e.reported && f) problems.push(`${label}: reported as failed, though the coordinator could not have sent it: ${f.reason.slice(0, 200)}`);
        continue;
      }
      // Random or mutated, but decodable: answered somehow (dead letter, update, evaluation, or skipped for its deadline),
      // and trained only when it is a task the agent may train.
      if (mayTrain(t)) allowedUpdates.add(t.taskId);
      if (!dl && !updates.has(t.taskId) && !evaluated.has(t.taskId) && !skippedLog) problems.push(`${label}: acked without any answer: ${JSON.stringify(TrainingTask.toObject(t)).slice(0, 300)}`);
    }
    for (const [taskId, u] of updates) if (!allowedUpdates.has(taskId)) problems.push(`trained what it should not: task ${JSON.stringify(taskId)} (experiment ${u.experimentId}, centre ${u.centreId})`);
    expect(problems).toEqual([]);

    // Alive, healthy, no unhandled failure; and an honest task is still trained.
    expect(exitCode).toBeUndefined();
    expect(await agent.health()).toMatchObject({ status: 'ok', nats: { connected: true } });
    expect(output).not.toMatch(/unhandled rejection|uncaught exception/i);
    const task = honestTask();
    await send('honest', encode(task));
    expect(await trained(task.taskId!)).toMatchObject({ experimentId: EXP, round: 1, centreId: CENTRE });
  }, 90_000);
});
