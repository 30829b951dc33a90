// Round overhead against Flower, in one invocation: for each (centres, params) case, Fedledger's
// `fedledger simulate --trainer noop` and Flower's deployment engine (bench/flower/round_overhead.sh: SuperLink,
// SuperNodes, FedAvg, a ClientApp returning the weights slightly perturbed) run one after the other on the same
// machine, alternating, so both see the same conditions. Round durations are each system's own: Fedledger's
// round.completed durationMs, Flower's time between its round log lines (see round_overhead.py).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(__dirname, '..');
const log = (s: string) => process.stderr.write(`[bench rounds] ${s}\n`);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

async function fedledger(centres: number, params: number, rounds: number): Promise<number[]> {
  const out = await run(process.execPath, ['-r', './scripts/register.js', 'cli/src/main.ts', 'simulate', '--trainer', 'noop', '--centres', String(centres), '--params', String(params), '--rounds', String(rounds), '--json']);
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; durationMs?: number })
    .filter((e) => e.event === 'round.completed')
    .map((e) => Number(e.durationMs));
}

async function flower(centres: number, params: number, rounds: number): Promise<number[]> {
  const out = await run('bash', ['bench/flower/round_overhead.sh', '--centres', String(centres), '--params', String(params), '--rounds', String(rounds)]);
  const line = out.trim().split('\n').pop()!;
  return (JSON.parse(line) as { roundMs: number[] }).roundMs;
}

export async function run_(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      centres: { type: 'string', default: '5,20' },
      params: { type: 'string', default: '100000,11000000' },
      rounds: { type: 'string', default: '3' },
      repeats: { type: 'string', default: '1' },
      'no-flower': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const cases = values.centres.split(',').flatMap((c) => values.params.split(',').map((p) => ({ centres: Number(c), params: Number(p) })));
  const results = [];
  for (const c of cases) {
    const ours: number[] = [];
    const theirs: number[] = [];
    let flowerError: string | undefined;
    for (let r = 0; r < Number(values.repeats); r++) {
      log(`${c.centres} centres × ${c.params} params: Fedledger, ${rounds} rounds`);
      ours.push(...(await fedledger(c.centres, c.params, rounds)));
      log(`  Fedledger rounds ${ours.slice(-rounds).join(', ')} ms`);
      if (values['no-flower'] || flowerError) continue;
      log(`${c.centres} centres × ${c.params} params: Flower, ${rounds} rounds`);
      try {
        theirs.push(...(await flower(c.centres, c.params, rounds)));
        log(`  Flower rounds ${theirs.slice(-rounds).join(', ')} ms`);
      } catch (err) {
        flowerError = (err as Error).message;
        log(`  Flower could not run: ${flowerError}`);
      }
    }
    const fed = Math.round(mean(ours));
    const flw = theirs.length ? Math.round(mean(theirs)) : null;
    results.push({ ...c, fedledgerRoundMs: ours, flowerRoundMs: theirs, fedledgerMeanMs: fed, flowerMeanMs: flw, ratio: flw ? Math.round((fed / flw) * 1000) / 1000 : null, ...(flowerError ? { flowerError } : {}) });
  }
  return { bench: 'rounds', rounds, cases: results, note: 'mean round duration, Fedledger / Flower 1.42 deployment engine, alternating on the same machine' };
}

export { run_ as run };
