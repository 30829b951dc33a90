import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPERATOR, type ExperimentState } from '@fedledger/contracts';
import { startTestFederation, type TestFederation } from '@fedledger/federation';
import { decodeWeights } from '@fedledger/fl-core';
import { initTfjs } from '@fedledger/training';
import * as tf from '@tensorflow/tfjs';

type tfWeightSpecs = Parameters<typeof tf.io.fromMemory>[1];

const cli = path.join(__dirname, '../bin/fedledger.js');
let fed: TestFederation;

function fedledger(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // `events` reads NATS only; `experiment` talks to the coordinator's API and uploads weights over NATS.
    // Writes to the coordinator are signed: as the developer the test federation issued.
    const where =
      args[0] === 'events'
        ? ['--nats', fed.federation.natsUrl]
        : ['--api', fed.federation.apiUrl, '--nats', fed.federation.natsUrl, ...(args[0] === 'experiment' ? ['--identity-dir', fed.federation.identityDir] : [])];
    // The operator's NATS credentials, as `fedledger up` leaves them for the command line.
    const child = spawn(process.execPath, [cli, ...args, ...where], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...fed.federation.nats.credentials(OPERATOR) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  fed = await startTestFederation({ centres: ['c01', 'c02', 'c03'], env: { LOG_LEVEL: 'warn', TRAINER: 'tfjs' } });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

test('an experiment from a YAML plan: created, started, followed to the end with fedledger events', async () => {
  const unsigned = await fedledger(['experiment', 'create', path.join(__dirname, '../../examples/dense-test.yaml'), '--start']);
  expect(unsigned.code).toBe(2);
  expect(unsigned.stderr).toContain('create is signed by its caller: give --as <org>/<user> (or set FEDLEDGER_AS), e.g. --as ub/dev-1');
  const created = await fedledger(['experiment', 'create', path.join(__dirname, '../../examples/dense-test.yaml'), '--start', '--as', 'ub/dev-1']);
  expect(created.stderr).toBe('');
  expect(created.stdout).toContain('created experiment dense-test-demo');
  expect(created.code).toBe(0);

  const followed = await fedledger(['events', 'dense-test-demo', '--follow', '--json']);
  expect(followed.code).toBe(0);
  const events = followed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(events.filter((e) => e.event === 'round.completed').map((e) => e.round)).toEqual([1, 2, 3]);
  expect(events[events.length - 1]).toMatchObject({ event: 'experiment.completed', outcome: 'EXPERIMENT_OUTCOME_SUCCEEDED' });

  // Replay without --follow prints the same history and stops.
  const replay = await fedledger(['events', 'dense-test-demo']);
  expect(replay.stdout).toContain('round 3 completed in');
  expect(replay.stdout).toContain('experiment dense-test-demo succeeded after 3 rounds');

  const shown = await fedledger(['experiment', 'show', 'dense-test-demo']);
  expect(JSON.parse(shown.stdout)).toMatchObject({ status: 'completed', plan: { strategy: { kind: 'fedprox', params: { proximal_mu: 0.01 } } } });
  // The final model as a TensorFlow.js layers model that tfjs loads back with the same weights.
  const out = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  const exported = await fedledger(['export', 'dense-test-demo', out]);
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(/weights\.bin {2}sha256 [0-9a-f]{64}/);
  await initTfjs();
  const modelJson = JSON.parse(await readFile(path.join(out, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tfWeightSpecs }[] };
  const model = await tf.loadLayersModel(tf.io.fromMemory(modelJson.modelTopology, modelJson.weightsManifest[0]!.weights, new Uint8Array(await readFile(path.join(out, 'weights.bin'))).buffer));
  expect(model.weights.map((w) => w.originalName)).toEqual(['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias']);
  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/dense-test-demo`)).json()) as ExperimentState;
  const aggregate = decodeWeights(await (await fed.federation.blobStore()).getBytes(state.globalWeights));
  expect(Array.from(model.weights[0]!.read().dataSync())).toEqual(Array.from(aggregate[0]!.data));
  model.dispose();

  const again = await fedledger(['experiment', 'start', 'dense-test-demo', '--as', 'ub/dev-1']);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('experiment dense-test-demo is completed; only a created experiment can be started');
}, 120_000);

test('a plan with mistakes is refused with every problem listed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-'));
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'id: bad plan\nrounds: 0\ncentres: [a]\ninitialWeights: {architecture: dense-test}\n');
  const { code, stderr } = await fedledger(['experiment', 'create', file, '--as', 'ub/dev-1']);
  expect(code).toBe(1);
  expect(stderr).toContain("POST /experiments failed (400): 2 problem(s):\n  id: expected 1..128 letters, digits, '_' or '-'\n  rounds: Number must be greater than or equal to 1");
}, 60_000);

test('purge: an ended experiment loses its blobs and messages, keeps its events and final model; a dry run changes nothing; one not ended is refused', async () => {
  // dense-test-demo completed in the first test: 3 rounds of 3 centres.
  const state = (await (await fetch(`${fed.federation.apiUrl}/experiments/dense-test-demo`)).json()) as ExperimentState;
  expect(state.status).toBe('completed');
  const store = await fed.federation.blobStore();
  const updates = state.completedRounds.flatMap((r) => Object.values(r.results).map((u) => u.weights));
  const gone = [state.plan.initialWeights, ...state.completedRounds.slice(0, -1).map((r) => r.aggregate), ...updates];
  expect(updates).toHaveLength(9);

  type Report = { deleted: { blobId: string; what: string }[]; kept: { blobId: string }[]; messages: Record<string, number>; blobBytes: { before: number; after: number } };
  const dry = await fedledger(['experiment', 'purge', 'dense-test-demo', '--dry-run', '--json']);
  expect(dry.code).toBe(0);
  const planned = JSON.parse(dry.stdout) as Report;
  expect(planned.deleted.map((b) => b.blobId)).toEqual(expect.arrayContaining(gone.map((b) => b.blobId)));
  expect(planned.deleted.map((b) => b.blobId)).not.toContain(state.globalWeights.blobId);
  expect(planned.kept).toEqual([expect.objectContaining({ blobId: state.globalWeights.blobId })]);
  expect(planned.messages.FL_UPDATES).toBeGreaterThanOrEqual(9);
  for (const ref of gone) expect((await store.getBytes(ref)).length).toBe(ref.sizeBytes); // still there

  const purged = await fedledger(['experiment', 'purge', 'dense-test-demo', '--json']);
  expect([purged.code, purged.stderr]).toEqual([0, '']);
  const report = JSON.parse(purged.stdout) as Report;
  expect(report.blobBytes.after).toBeLessThan(report.blobBytes.before);
  expect(report.messages.FL_UPDATES).toBe(planned.messages.FL_UPDATES);
  for (const ref of gone) await expect(store.getBytes(ref)).rejects.toThrow(/not found|no blob|does not exist/i);
  // The final model is still there: export reads it. The history too.
  const out = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  expect((await fedledger(['export', 'dense-test-demo', out])).code).toBe(0);
  expect((await fedledger(['events', 'dense-test-demo'])).stdout).toContain('experiment dense-test-demo succeeded after 3 rounds');

  // Again: nothing more to free.
  const again = await fedledger(['experiment', 'purge', 'dense-test-demo']);
  expect(again.code).toBe(0);
  const [mbBefore, mbAfter] = /FL_BLOBS ([\d.]+) MB -> ([\d.]+) MB/.exec(again.stdout)!.slice(1);
  expect(mbAfter).toBe(mbBefore);
  expect(again.stdout).toContain('messages purged: FL_TASKS 0, FL_UPDATES 0, FL_AGGREGATES 0, FL_CONTROL 0; its events (FL_EVENTS), state and passport stay');
  expect(again.stdout).toContain(`kept final model (fedledger export reads it; --all deletes it too): ${state.globalWeights.blobId}`);

  // An experiment that has not ended keeps everything.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-'));
  const plan = path.join(dir, 'waiting.yaml');
  await writeFile(plan, (await readFile(path.join(__dirname, '../../examples/dense-test.yaml'), 'utf8')).replace(/^id: .*$/m, 'id: waiting-demo'));
  expect((await fedledger(['experiment', 'create', plan, '--as', 'ub/dev-1'])).code).toBe(0);
  const refused = await fedledger(['experiment', 'purge', 'waiting-demo']);
  expect([refused.code, refused.stderr.trim()]).toEqual([1, 'fedledger experiment: experiment waiting-demo is created: only an experiment that ended (completed, failed or aborted) can be purged; abort it first']);
}, 120_000);
