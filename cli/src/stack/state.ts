import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errnoCode, errorMessage, type RunningComponent } from '@fedledger/local-stack';
import { CliError } from '../errors';

const componentStateSchema = z.object({
  name: z.string().min(1),
  pid: z.number().int().positive(),
  /** argv[0]; a recorded pid is only signalled while it still runs this. */
  command: z.string().min(1),
  // main is 0 for services that open no port (aggregator, centre-agents)
  ports: z.object({ main: z.number().int().nonnegative() }).catchall(z.number().int().positive()),
  url: z.string(),
  endpoints: z.record(z.string()).default({}),
  logFile: z.string(),
  startedAt: z.string(),
});

const stackStateSchema = z.object({
  version: z.literal(1),
  dataDir: z.string(),
  startedAt: z.string(),
  components: z.array(componentStateSchema),
});

export type ComponentState = z.infer<typeof componentStateSchema>;
export type StackState = z.infer<typeof stackStateSchema>;

/** <data-dir>/stack.json, or undefined when there is none. A damaged file is a CliError naming it. */
export function readState(stateFile: string): StackState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${stateFile}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${stateFile} is not valid JSON (${errorMessage(err)}); delete it once no process it lists runs`);
  }
  const parsed = stackStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(
      `${stateFile} is not a fedledger stack state (${issue.path.join('.') || 'root'}: ${issue.message}); delete it once no process it lists runs`,
    );
  }
  return parsed.data;
}

/** Writes atomically (temp file + rename) so a reader never sees half a file. */
export function writeState(stateFile: string, state: StackState): void {
  mkdirSync(path.dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile);
}

export function removeState(stateFile: string): void {
  rmSync(stateFile, { force: true });
}

export function componentState(running: RunningComponent, startedAt: Date): ComponentState {
  const { spec } = running;
  return {
    name: spec.name,
    pid: running.pid,
    command: spec.command,
    ports: { ...spec.ports },
    url: spec.url,
    endpoints: { ...spec.endpoints },
    logFile: spec.logFile,
    startedAt: startedAt.toISOString(),
  };
}
