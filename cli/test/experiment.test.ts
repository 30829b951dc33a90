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
