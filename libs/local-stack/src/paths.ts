import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { LocalStackError, errorMessage } from './errors';

/**
 * The binaries that scripts/bootstrap-tools.sh builds into .tools/bin: the infrastructure (Fabric 2.5.9's among them),
 * helm and kubeconform for the charts (npm run lint:charts), vegeta for the load tests.
 */
export type ToolName = 'nats-server' | 'ferretdb' | 'peer' | 'orderer' | 'osnadmin' | 'configtxgen' | 'cryptogen' | 'helm' | 'kubeconform' | 'vegeta';
export const TOOL_NAMES: readonly ToolName[] = ['nats-server', 'ferretdb', 'peer', 'orderer', 'osnadmin', 'configtxgen', 'cryptogen', 'helm', 'kubeconform', 'vegeta'];
/** What the local stack runs: `fedledger up` and `simulate` build only these when missing (`bootstrap-tools.sh stack`). */
export const STACK_TOOLS: readonly ToolName[] = ['nats-server', 'ferretdb', 'peer', 'orderer', 'osnadmin', 'configtxgen', 'cryptogen'];

let cachedRoot: string | undefined;

/** The monorepo root: the nearest directory at or above this package that holds nx.json. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'nx.json'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new LocalStackError(`cannot find the repository root: no nx.json in ${__dirname} or any parent directory`);
    }
    dir = parent;
  }
}

/** Where the binaries live: $FEDLEDGER_TOOLS_DIR, else <repo>/.tools/bin. */
export function toolsDir(): string {
  const override = process.env.FEDLEDGER_TOOLS_DIR;
  return override !== undefined && override !== '' ? path.resolve(override) : path.join(repoRoot(), '.tools', 'bin');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tools of `among` (default: the local stack's) that are not (executable) in toolsDir(). */
export function missingTools(among: readonly ToolName[] = STACK_TOOLS): ToolName[] {
  return among.filter((name) => !isExecutable(path.join(toolsDir(), name)));
}

/** Absolute path of a pinned binary; throws a LocalStackError naming the path when it is missing. */
export function toolPath(name: ToolName): string {
  const file = path.join(toolsDir(), name);
  if (!isExecutable(file)) {
    throw new LocalStackError(`${name} not found at ${file} (or not executable); run \`npm run tools\` to build it`);
  }
  return file;
}

/**
 * Builds the local stack's missing binaries with `scripts/bootstrap-tools.sh stack` (about a minute each on 2
 * cores; the chart and load-test tools are left to `npm run tools`). Does nothing when all are present. The script's progress goes to this process's stderr.
 */
export async function ensureTools(): Promise<void> {
  if (missingTools().length === 0) return;
  // Concurrent callers in one process share a single bootstrap run.
  bootstrapping ??= runBootstrap().finally(() => (bootstrapping = undefined));
  return bootstrapping;
}

let bootstrapping: Promise<void> | undefined;

async function runBootstrap(): Promise<void> {
  const script = path.join(repoRoot(), 'scripts', 'bootstrap-tools.sh');
  if (!existsSync(script)) {
    throw new LocalStackError(`cannot build ${missingTools().join(', ')}: ${script} does not exist`);
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    // stdout goes to our stderr as well: machine-readable CLI output on stdout stays clean.
    const child = spawn('bash', [script, 'stack'], { cwd: repoRoot(), stdio: ['ignore', 2, 'inherit'] });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).catch((err: unknown) => {
    throw new LocalStackError(`cannot run ${script}: ${errorMessage(err)}`);
  });
  if (code !== 0) {
    throw new LocalStackError(`${script} (npm run tools) failed with exit code ${code}; see the [tools] lines above`);
  }
  const still = missingTools();
  if (still.length > 0) {
    throw new LocalStackError(
      `${still.join(', ')} still missing in ${toolsDir()} after npm run tools` +
        (process.env.FEDLEDGER_TOOLS_DIR ? ' (FEDLEDGER_TOOLS_DIR points elsewhere; the script builds into .tools/bin)' : ''),
    );
  }
}
