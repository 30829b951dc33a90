import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, statSync } from 'node:fs';
import { toolPath } from '@fedledger/local-stack';

/** One request as vegeta's JSON target format takes it. */
export interface Target {
  method: 'GET' | 'POST';
  url: string;
  body?: Buffer;
  header?: Record<string, string[]>;
}

/** What `vegeta report -type=json` says of one attack (latencies in nanoseconds). */
export interface VegetaReport {
  latencies: { total: number; mean: number; '50th': number; '90th': number; '95th': number; '99th': number; max: number; min: number };
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  status_codes: Record<string, number>;
  errors: string[] | null;
}

/** Writes targets as JSON lines, the format `vegeta attack -format=json` reads. */
export async function writeTargets(file: string, targets: Iterable<Target>): Promise<void> {
  const out = createWriteStream(file);
  for (const t of targets) {
    const line = JSON.stringify({ method: t.method, url: t.url, ...(t.header ? { header: t.header } : {}), ...(t.body ? { body: t.body.toString('base64') } : {}) });
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Runs vegeta (github.com/tsenart/vegeta, MIT), built by `npm run tools` into .tools/bin. */
async function run(args: string[], what: string): Promise<string> {
  const child = spawn(toolPath('vegeta'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': the process may exit before its stdout has been read to the end.
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`vegeta ${what} exited ${code}: ${stderr.trim().slice(-500)}`);
  return stdout;
}

/**
 * An open-model attack: `rate` requests per second for `durationS`, from the targets file in order (each target is
 * used once when there are enough), then its report. Results are kept in `resultsFile` (vegeta's binary format).
 */
export async function attack(targetsFile: string, resultsFile: string, rate: number, durationS: number, name: string): Promise<VegetaReport> {
  await run(
    // vegeta takes a whole number of requests per period: 0.5/s is 1 per 2 s, 2.5/s 5 per 2 s.
    ['attack', '-format=json', `-targets=${targetsFile}`, `-rate=${Number.isInteger(rate) ? `${rate}/1s` : `${Math.round(rate * 1000)}/1000s`}`, `-duration=${durationS}s`, '-timeout=10s', `-name=${name}`, '-lazy', `-output=${resultsFile}`],
    `attack ${name}`,
  );
  const report = await run(['report', '-type=json', resultsFile], `report ${name}`);
  try {
    return JSON.parse(report) as VegetaReport;
  } catch {
    throw new Error(`vegeta report ${name} is not JSON (${statSync(resultsFile).size} bytes of results): '${report.slice(0, 200)}'`);
  }
}
