/**
 * The service images, checked without a Docker engine (there is none on the developers' machines or in CI).
 *
 * Every services/<name>/Dockerfile* is parsed with dockerfile-ast (the parser of the Dockerfile language service in
 * VS Code's Docker tooling) and checked three ways:
 *  - lint rules in the spirit of hadolint's main ones (hadolint is a Haskell binary, not installable here);
 *  - against what the repository says: local-stack's command line for the service, `http.defaultPort` of its
 *    defineService, the workspace packages its sources import (transitively), the settings it reads, .dockerignore;
 *  - by laying out the runtime stage from the COPY lines alone (the deps stage's `npm ci --omit=dev` reproduced from
 *    package-lock.json, or really run with FEDLEDGER_CONTAINER_NPM_CI=1) and starting the CMD from there: the service
 *    must get as far as connecting to NATS (nothing listens), not stop on a missing module.
 * The last block breaks copies of the Dockerfiles, one rule at a time, and shows that each rule then fails.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Add, Cmd, Copy, DockerfileParser, Entrypoint, Env, From, Healthcheck, Run, User, Workdir, type Dockerfile, type Instruction } from 'dockerfile-ast';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../src/paths';
import { serviceComponent } from '../src/service';

const ROOT = repoRoot();
/** Every service (services/<name> with a package.json): each must have an image. */
const SERVICES = readdirSync(path.join(ROOT, 'services')).filter((name) => existsSync(path.join(ROOT, 'services', name, 'package.json'))).sort();
/** Where every image runs the service from (local-stack runs it from the repository root). */
const APP = '/app';
/** Settings Node or its libraries read rather than the service's configuration. */
const RUNTIME_ENV = ['NODE_ENV'];

const scratch: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fedledger-${prefix}-`));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// The Dockerfile, by stages

interface Stage {
  index: number;
  /** `AS <name>`, lower-cased as Docker compares it. */
  name: string | undefined;
  from: From;
  instructions: Instruction[];
}

interface ParsedDockerfile {
  /** As messages name it: repository-relative for the real ones. */
  label: string;
  dockerfile: Dockerfile;
  stages: Stage[];
}

interface Target {
  /** services/<service>/Dockerfile[.variant] */
  rel: string;
  file: string;
  service: string;
}

function parseDockerfile(file: string, label: string): ParsedDockerfile {
  const dockerfile = DockerfileParser.parse(readFileSync(file, 'utf8'));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      stages.push({ index: stages.length, name: instruction.getBuildStage()?.toLowerCase() ?? undefined, from: instruction, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { label, dockerfile, stages };
}

const lineOf = (i: Instruction): number => i.getRange().start.line + 1;
const at = (df: ParsedDockerfile, i: Instruction): string => `${df.label}:${lineOf(i)}`;
const finalStage = (df: ParsedDockerfile): Stage | undefined => df.stages[df.stages.length - 1];
const ofType = <T extends Instruction>(stage: Stage, type: abstract new (...args: never[]) => T): T[] =>
  stage.instructions.filter((i): i is T => i instanceof type);

/** The earlier stage a FROM or COPY --from names, if it names one. */
function stageNamed(df: ParsedDockerfile, name: string, before: number): Stage | undefined {
  return df.stages.find((s) => s.index < before && (s.name === name.toLowerCase() || String(s.index) === name));
}

/** A stage's ENV, its base stages' included (Docker inherits them). */
function stageEnv(df: ParsedDockerfile, stage: Stage): Map<string, string> {
  const base = stageNamed(df, stage.from.getImage() ?? '', stage.index);
  const env = base ? stageEnv(df, base) : new Map<string, string>();
  for (const e of ofType(stage, Env)) for (const p of e.getProperties()) env.set(p.getName(), p.getUnescapedValue() ?? '');
  return env;
}

/** The exec-form array of CMD / ENTRYPOINT, or undefined for the shell form. */
function execForm(i: Cmd | Entrypoint): string[] | undefined {
  return i.getOpeningBracket() === null ? undefined : i.getJSONStrings().map((s) => s.getJSONValue());
}

/** HEALTHCHECK's command: exec form parsed as JSON, or undefined (shell form, NONE, or not JSON). */
function healthcheckCommand(h: Healthcheck): string[] | undefined {
  const content = h.getArgumentsContent() ?? '';
  const m = /^CMD\s+(\[[\s\S]*\])\s*$/.exec(content.trim());
  if (!m) return undefined;
  try {
    const parsed: unknown = JSON.parse(m[1]);
    return Array.isArray(parsed) && parsed.every((s): s is string => typeof s === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The shell commands of a RUN (split at &&, ||, ;), without the RUN flags. */
function shellCommands(run: Run): string[] {
  return (run.getArgumentsContent() ?? '').split(/&&|\|\||;/).map((c) => c.trim()).filter((c) => c !== '');
}

// ---------------------------------------------------------------------------------------------------------------
// What the repository says

function listDockerfiles(): Target[] {
  return SERVICES.flatMap((service) =>
    readdirSync(path.join(ROOT, 'services', service))
      .filter((f) => /^Dockerfile(\.[a-z0-9-]+)?$/.test(f))
      .sort()
      .map((f) => ({ rel: `services/${service}/${f}`, file: path.join(ROOT, 'services', service, f), service })),
  );
}

/** Workspace package name → its directory (root package.json "workspaces": libs/*, services/*, cli, chaincode/*). */
function workspacePackages(): Map<string, string> {
  const rootManifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const found = new Map<string, string>();
  for (const pattern of rootManifest.workspaces) {
    const dirs = pattern.endsWith('/*')
      ? readdirSync(path.join(ROOT, pattern.slice(0, -2)), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${pattern.slice(0, -2)}/${e.name}`)
      : [pattern];
    for (const dir of dirs) {
      const manifest = path.join(ROOT, dir, 'package.json');
      if (existsSync(manifest)) found.set((JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name, dir);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(file);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [file] : [];
  });
}

/** The @fedledger/* packages one workspace's src imports (static, dynamic, require; type-only included). */
function workspaceImports(dir: string): Set<string> {
  const imported = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, dir, 'src'))) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const m = /^(@fedledger\/[^/]+)/.exec(fileName);
      if (m) imported.add(m[1]);
    }
  }
  return imported;
}

/** The service's own package and every workspace package its sources reach, as directories. */
function workspaceClosure(service: string): string[] {
  const packages = workspacePackages();
  const byDir = new Map([...packages].map(([name, dir]) => [dir, name]));
  const start = byDir.get(`services/${service}`);
  if (start === undefined) throw new Error(`services/${service}/package.json: not a workspace package`);
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    const dir = packages.get(name);
    if (dir === undefined) throw new Error(`a workspace imports ${name}, which no workspace package is`);
    seen.add(name);
    todo.push(...workspaceImports(dir));
  }
  return [...seen].map((name) => packages.get(name)!).sort();
}

/** Whether the service, or a workspace package it imports, reads the environment variable `name` (or Node does). */
function readsSetting(service: string, name: string): boolean {
  if (RUNTIME_ENV.includes(name)) return true;
  let sources = sourcesOf.get(service);
  if (sources === undefined) {
    sources = workspaceClosure(service).flatMap((dir) => sourceFiles(path.join(ROOT, dir, 'src')).map((f) => readFileSync(f, 'utf8')));
    sourcesOf.set(service, sources);
  }
  return sources.some((text) => new RegExp(`\\b${name}\\b`).test(text));
}
const sourcesOf = new Map<string, string[]>();

/** `http.defaultPort` in the service's defineService({...}) (services/<name>/src/service.ts), if it has HTTP. */
function httpDefaultPort(service: string): number | undefined {
  const file = path.join(ROOT, 'services', service, 'src', 'service.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  let definition: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'defineService') {
      const [arg] = node.arguments;
      if (arg !== undefined && ts.isObjectLiteralExpression(arg)) definition = arg;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (definition === undefined) throw new Error(`${file}: no defineService({...}) call`);
  const property = (o: ts.ObjectLiteralExpression, name: string): ts.Expression | undefined =>
    o.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name)?.initializer;
  const httpSetting = property(definition, 'http');
  if (httpSetting === undefined) return undefined;
  const port = ts.isObjectLiteralExpression(httpSetting) ? property(httpSetting, 'defaultPort') : undefined;
  if (port === undefined || !ts.isNumericLiteral(port)) throw new Error(`${file}: http.defaultPort is not a number literal`);
  return Number(port.text);
}

/** The command local-stack runs the service with, relative to its cwd (the repository root). */
function localStackCommand(service: string): string[] {
  const spec = serviceComponent({ service, natsUrl: 'nats://127.0.0.1:4222', logFile: path.join(os.tmpdir(), 'unused.log') });
  const cwd = spec.cwd ?? ROOT;
  return ['node', ...spec.args.map((a) => (path.isAbsolute(a) ? path.relative(cwd, a) : a))];
}

/**
 * A command as local-stack's is compared with it: same program, same loader, same entry file, paths resolved from
 * the image's WORKDIR as local-stack resolves them from the repository root (`./scripts/register.js` is
 * `scripts/register.js`; the ./ matters to `node -r`, which the start check below exercises).
 */
function comparableCommand(command: string[]): string[] {
  return command.map((a, n) => (n === 0 ? path.posix.basename(a) : a.startsWith('-') ? a : path.posix.normalize(a)));
}

/** .dockerignore as Docker reads it: globs with `**`, later lines win, an excluded directory excludes its contents. */
function dockerignore(text: string): (rel: string) => boolean {
  const toRegExp = (glob: string): RegExp => {
    let re = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i];
      if (c === '*' && glob[i + 1] === '*') {
        re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += glob[i + 2] === '/' ? 2 : 1;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const glob = path.posix.normalize(negated ? l.slice(1).trim() : l).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negated, re: toRegExp(glob) };
    });
  return (rel) => {
    const parts = path.posix.normalize(rel).split('/');
    let ignored = false;
    for (const rule of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.re.test(parts.slice(0, n).join('/'))) {
          ignored = !rule.negated;
          break;
        }
      }
    }
    return ignored;
  };
}
const ignoredByDocker = dockerignore(existsSync(path.join(ROOT, '.dockerignore')) ? readFileSync(path.join(ROOT, '.dockerignore'), 'utf8') : '');

// ---------------------------------------------------------------------------------------------------------------
// Lint rules (hadolint's numbers where there is one) and consistency with the repository

type Problems = string[];

/** The lint rules; `node: false` leaves out the two that only a Node service's image needs (workdir, node-env). */
function lint(df: ParsedDockerfile, o: { node?: boolean } = {}): Problems {
  const problems: Problems = [];
  const say = (i: Instruction, rule: string, why: string) => problems.push(`${at(df, i)}: ${rule}: ${why}`);

  if (df.stages.length < 2) problems.push(`${df.label}: multi-stage: ${df.stages.length} stage(s); dependencies are installed in a stage of their own`);

  const digestNotes = df.dockerfile.getComments().map((c) => c.getContent().trim());
  for (const stage of df.stages) {
    const from = stage.from;
    const image = from.getImage() ?? '';
    if (stageNamed(df, image, stage.index)) continue; // FROM an earlier stage: pinned where that one is
    const name = from.getImageName() ?? '';
    const tag = from.getImageTag();
    if (/\$/.test(image)) say(from, 'pinned-base', `base image '${image}' uses a variable: the pinned version must be literal to be checked`);
    else if (tag === null && from.getImageDigest() === null) say(from, 'pinned-base', `'${image}' has no tag, which means latest (DL3007)`);
    else if (tag === 'latest') say(from, 'pinned-base', `'${image}' is latest (DL3007)`);
    else if (tag !== null && !/^v?\d+\.\d+\.\d+([-._+].*)?$/.test(tag)) say(from, 'pinned-base', `'${image}': tag '${tag}' is not an exact version (a floating major or minor moves under you)`);
    const reference = tag === null ? name : `${name}:${tag}`;
    if (!digestNotes.some((c) => c.startsWith(`digest: ${reference}@sha256:`))) {
      say(from, 'digest-note', `no '# digest: ${reference}@sha256:…' line for the release pipeline to pin`);
    }
  }

  for (const stage of df.stages) {
    for (const [n, i] of stage.instructions.entries()) {
      if (i instanceof Add) say(i, 'no-add', 'ADD: use COPY (DL3020); nothing here needs a URL or an archive unpacked');
      if ((i instanceof Cmd || i instanceof Entrypoint) && execForm(i) === undefined) say(i, 'json-form', `${i.getKeyword()} in shell form: use the JSON (exec) form, so signals reach the process (DL3025)`);
      if (i instanceof Healthcheck && healthcheckCommand(i) === undefined) say(i, 'json-form', 'HEALTHCHECK: use CMD with a JSON array (exec form; the image may have no shell worth relying on)');
      if (i instanceof Run && stage.instructions[n + 1] instanceof Run) say(i, 'consecutive-run', `RUN followed by another RUN (line ${lineOf(stage.instructions[n + 1])}): merge them into one layer (DL3059)`);
      if (i instanceof Run) {
        const commands = shellCommands(i);
        const content = i.getArgumentsContent() ?? '';
        for (const command of commands) {
          const install = /\bapt-get\s+(?:-\S+\s+)*install\b(.*)$/.exec(command);
          if (install) {
            const words = install[1].split(/\s+/).filter((w) => w !== '');
            const packages = words.filter((w) => !w.startsWith('-'));
            if (!words.includes('-y') && !words.includes('--yes') && !words.includes('-qy')) say(i, 'apt-get', `'${command}' asks for confirmation: add -y (DL3014)`);
            if (!words.includes('--no-install-recommends') && !packages.every((p) => p.includes('='))) {
              say(i, 'apt-get', `'${command}': add --no-install-recommends or pin every package with =version (DL3015, DL3008)`);
            }
            if (!/\bapt-get\s+update\b/.test(content)) say(i, 'apt-get', 'apt-get install without apt-get update in the same RUN installs from stale lists');
            if (!/rm\s+-r?f?r?\s+\/var\/lib\/apt\/lists/.test(content)) say(i, 'apt-get', 'apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN leaves the lists in the layer (DL3009)');
          }
          if (/^npm\s+(ci|install|i)\b/.test(command)) {
            if (!/--ignore-scripts\b/.test(command)) say(i, 'npm-install', `'${command.slice(0, 60)}…' runs every dependency's install scripts: the repository allows none (root package.json allowScripts); add --ignore-scripts`);
            if (!/--omit=dev\b/.test(command)) say(i, 'npm-install', `'${command.slice(0, 60)}…' installs devDependencies: add --omit=dev`);
          }
        }
      }
    }
  }

  const last = finalStage(df);
  if (last) {
    const users = ofType(last, User);
    const user = users[users.length - 1];
    const name = user ? (user.getArgumentsContent() ?? '').trim().split(':')[0] : undefined;
    if (user === undefined) problems.push(`${df.label}: non-root: the final stage sets no USER, so it runs as root (DL3002)`);
    else if (name === 'root' || name === '0') say(user, 'non-root', `the last USER is ${name} (DL3002)`);
    if (o.node !== false) {
      const workdirs = ofType(last, Workdir);
      const workdir = workdirs[workdirs.length - 1];
      if (workdir === undefined || (workdir.getArgumentsContent() ?? '').trim() !== APP) {
        problems.push(`${df.label}: workdir: the final stage's WORKDIR must be ${APP} (the service's paths are relative to it)`);
      }
      if (stageEnv(df, last).get('NODE_ENV') !== 'production') problems.push(`${df.label}: node-env: the final stage does not set ENV NODE_ENV=production`);
    }
  }
  return problems;
}

function consistency(df: ParsedDockerfile, target: Target): Problems {
  const problems: Problems = [];
  const say = (i: Instruction, rule: string, why: string) => problems.push(`${at(df, i)}: ${rule}: ${why}`);

  for (const stage of df.stages) {
    for (const copy of ofType(stage, Copy)) {
      const from = copy.getFromFlag()?.getValue();
      if (from !== undefined && from !== null) {
        if (!stageNamed(df, from, stage.index)) say(copy, 'copy-sources', `COPY --from=${from}: no earlier stage of that name`);
        continue;
      }
      for (const source of copy.getArguments().slice(0, -1).map((a) => a.getValue())) {
        const rel = path.posix.normalize(source).replace(/^\/+/, '');
        if (/[*?[]/.test(rel)) say(copy, 'copy-sources', `'${source}': globs are not supported by this check; name the paths`);
        else if (rel.startsWith('..') || !existsSync(path.join(ROOT, rel))) say(copy, 'copy-sources', `'${source}' does not exist in the build context (the repository root)`);
        else if (ignoredByDocker(rel)) say(copy, 'copy-sources', `'${source}' is excluded by .dockerignore, so the build cannot see it`);
      }
    }
  }

  const last = finalStage(df);
  if (last === undefined) return problems;

  const cmds = ofType(last, Cmd);
  const entrypoints = ofType(last, Entrypoint);
  const cmd = cmds.length > 0 ? execForm(cmds[cmds.length - 1]) : undefined;
  const entrypoint = entrypoints.length > 0 ? execForm(entrypoints[entrypoints.length - 1]) : [];
  const expected = localStackCommand(target.service);
  if (cmd === undefined || entrypoint === undefined) {
    problems.push(`${df.label}: cmd: no exec-form CMD in the final stage (local-stack runs: ${expected.join(' ')})`);
  } else if (JSON.stringify(comparableCommand([...entrypoint, ...cmd])) !== JSON.stringify(expected)) {
    problems.push(`${df.label}: cmd: runs ${JSON.stringify([...entrypoint, ...cmd])}, but local-stack's serviceComponent runs ${JSON.stringify(expected)} from the repository root`);
  }

  const port = httpDefaultPort(target.service);
  // EXPOSE has no class of its own in dockerfile-ast.
  const exposed = last.instructions.filter((i) => i.getKeyword() === 'EXPOSE').flatMap((e) => e.getArguments().map((a) => Number(a.getValue().split('/')[0])));
  if (port === undefined && exposed.length > 0) problems.push(`${df.label}: expose: EXPOSE ${exposed.join(' ')}, but ${target.service} has no HTTP API (no http in its defineService)`);
  if (port !== undefined && (exposed.length !== 1 || exposed[0] !== port)) {
    problems.push(`${df.label}: expose: EXPOSE ${exposed.join(' ') || '(none)'}, but ${target.service}'s defineService has http.defaultPort ${port}`);
  }

  const healthchecks = ofType(last, Healthcheck);
  const health = healthchecks.length > 0 ? healthcheckCommand(healthchecks[healthchecks.length - 1]) : undefined;
  if (healthchecks.length === 0) problems.push(`${df.label}: healthcheck: the final stage has no HEALTHCHECK`);
  else if (health !== undefined) {
    const script = health.join(' ');
    if (port !== undefined && !(script.includes('/health') && script.includes('HTTP_PORT') && script.includes(`'${port}'`))) {
      say(healthchecks[0], 'healthcheck', `does not ask GET /health on HTTP_PORT (default ${port})`);
    }
    if (port === undefined) {
      // No REST API: the image turns on GET /health alone (HEALTH_PORT) and its check asks it there.
      const healthPort = ofType(last, Env).flatMap((e) => e.getProperties()).find((p) => p.getName() === 'HEALTH_PORT')?.getValue();
      if (!healthPort) say(healthchecks[0], 'healthcheck', `${target.service} has no HTTP API: the final stage must set ENV HEALTH_PORT for its GET /health`);
      else if (!(script.includes('/health') && script.includes('HEALTH_PORT') && script.includes(`'${healthPort}'`))) {
        say(healthchecks[0], 'healthcheck', `does not ask GET /health on HEALTH_PORT (the image sets ${healthPort})`);
      }
    }
  }

  // Every ENV is a setting something in the image reads: a misspelt name would silently keep the default.
  for (const stage of df.stages.filter((s) => s === last || stageNamed(df, last.from.getImage() ?? '', last.index) === s)) {
    for (const env of ofType(stage, Env)) {
      for (const p of env.getProperties()) {
        if (!readsSetting(target.service, p.getName())) {
          say(env, 'env-known', `ENV ${p.getName()}: nothing ${target.service} runs reads it (misspelt?)`);
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The runtime stage, laid out from the COPY lines

interface LockEntry {
  resolved?: string;
  link?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The package-lock key `name` resolves to from the package at `fromKey`, as Node's lookup walks up node_modules. */
function resolveInLock(packages: Record<string, LockEntry>, fromKey: string, name: string): string | undefined {
  let base = fromKey;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/**
 * `npm ci --omit=dev` in `dir`, reproduced from its package-lock.json in a few milliseconds: the production
 * dependencies of the root and of the workspaces whose manifests are there, resolved through the lockfile's tree,
 * linked to the repository's installed copies; workspaces linked as npm links them (only those present).
 */
function simulateNpmCi(dir: string, problems: Problems, where: string): void {
  const lockFile = path.join(dir, 'package-lock.json');
  if (!existsSync(lockFile)) {
    problems.push(`${where}: npm ci: no package-lock.json in ${dir} at that point`);
    return;
  }
  const packages = (JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const workspaceKeys = Object.entries(packages).filter(([, e]) => e.link === true && e.resolved !== undefined).map(([key, e]) => ({ key, target: e.resolved! }));
  const present = workspaceKeys.filter((w) => existsSync(path.join(dir, w.target, 'package.json')));

  const reached = new Set<string>();
  const todo = ['', ...present.map((w) => w.target)];
  while (todo.length > 0) {
    const key = todo.pop()!;
    if (reached.has(key)) continue;
    reached.add(key);
    const entry = packages[key];
    if (entry === undefined) continue;
    const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional === true).map(([n]) => n));
    const wanted: Array<[string, boolean]> = [
      ...Object.keys(entry.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n): [string, boolean] => [n, true]),
      ...Object.keys(entry.peerDependencies ?? {}).map((n): [string, boolean] => [n, optionalPeers.has(n)]),
    ];
    for (const [name, optional] of wanted) {
      const resolved = resolveInLock(packages, key, name);
      if (resolved === undefined) {
        if (!optional) problems.push(`${where}: npm ci: ${name} (needed by ${key || 'the root'}) is not in package-lock.json`);
        continue;
      }
      const target = packages[resolved];
      todo.push(target.link === true && target.resolved !== undefined ? target.resolved : resolved);
    }
  }

  for (const w of present) {
    mkdirSync(path.dirname(path.join(dir, w.key)), { recursive: true });
    symlinkSync(path.relative(path.dirname(path.join(dir, w.key)), path.join(dir, w.target)), path.join(dir, w.key));
  }
  const linked = new Set<string>();
  const installed = [...reached].filter((k) => k.includes('node_modules/') && packages[k]?.link !== true).sort((a, b) => a.length - b.length);
  for (const key of installed) {
    const enclosing = key.split('/node_modules/').slice(0, -1).reduce<string[]>((acc, part, n) => [...acc, n === 0 ? part : `${acc[n - 1]}/node_modules/${part}`], []);
    if (enclosing.some((k) => linked.has(k))) continue; // inside a package already linked, nested node_modules and all
    const real = path.join(ROOT, key);
    if (!existsSync(real)) {
      if (packages[key].optional !== true) problems.push(`${where}: npm ci: ${key} is in package-lock.json but not installed in the repository (run npm ci)`);
      continue;
    }
    mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    symlinkSync(real, path.join(dir, key));
    linked.add(key);
  }
}

/** A real `npm ci` (FEDLEDGER_CONTAINER_NPM_CI=1): what the deps stage runs, minus the download when cached. */
async function realNpmCi(dir: string, problems: Problems, where: string): Promise<void> {
  const result = await runProcess('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: process.env, timeoutMs: 600_000 });
  if (result.code !== 0) problems.push(`${where}: npm ci failed (exit ${result.code}): ${result.output.slice(-2000)}`);
}

interface Layout {
  /** The final stage's filesystem root on this machine. */
  root: string;
  workdir: string;
  env: Map<string, string>;
  cmd: string[];
  problems: Problems;
}

/** Copies a context path into the image, leaving out what .dockerignore excludes (as the build context does). */
function copyFromContext(rel: string, dest: string): void {
  const source = path.join(ROOT, rel);
  if (ignoredByDocker(rel)) return;
  const stat = lstatSync(source);
  if (stat.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const entry of readdirSync(source)) copyFromContext(path.posix.join(rel, entry), path.join(dest, entry));
  } else if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(source), dest);
  } else {
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(source, dest);
  }
}

async function layOut(df: ParsedDockerfile, opts: { realNpmCi?: boolean } = {}): Promise<Layout> {
  const base = tempDir('layout');
  const problems: Problems = [];
  const roots: string[] = [];
  const workdirs: string[] = [];
  for (const stage of df.stages) {
    const root = path.join(base, `${stage.index}-${stage.name ?? 'stage'}`);
    const parent = stageNamed(df, stage.from.getImage() ?? '', stage.index);
    // An external base image contributes nothing under the paths the service uses; a stage base contributes its files.
    if (parent) cpSync(roots[parent.index], root, { recursive: true, verbatimSymlinks: true });
    else mkdirSync(root, { recursive: true });
    let workdir = parent ? workdirs[parent.index] : '/';
    roots.push(root);
    for (const i of stage.instructions) {
      if (i instanceof Workdir) {
        workdir = path.posix.resolve(workdir, (i.getArgumentsContent() ?? '').trim());
        mkdirSync(path.join(root, workdir), { recursive: true });
      } else if (i instanceof Copy) {
        const args = i.getArguments().map((a) => a.getValue());
        const sources = args.slice(0, -1);
        const destArg = args[args.length - 1];
        const dest = path.posix.resolve(workdir, destArg);
        const intoDir = destArg.endsWith('/') || destArg === '.' || sources.length > 1;
        const fromName = i.getFromFlag()?.getValue() ?? undefined;
        const fromStage = fromName ? stageNamed(df, fromName, stage.index) : undefined;
        for (const source of sources) {
          if (fromStage) {
            const src = path.join(roots[fromStage.index], path.posix.resolve('/', source));
            if (!existsSync(src)) {
              problems.push(`${at(df, i)}: copy-sources: stage ${fromName} has no ${source}`);
              continue;
            }
            const target = statSync(src).isDirectory() || !intoDir ? path.join(root, dest) : path.join(root, dest, path.basename(src));
            cpSync(src, target, { recursive: true, verbatimSymlinks: true });
          } else {
            const rel = path.posix.normalize(source).replace(/^\/+/, '');
            if (!existsSync(path.join(ROOT, rel)) || ignoredByDocker(rel)) continue; // reported by consistency()
            const isDir = statSync(path.join(ROOT, rel)).isDirectory();
            copyFromContext(rel, isDir || !intoDir ? path.join(root, dest) : path.join(root, dest, path.basename(rel)));
          }
        }
      } else if (i instanceof Run && shellCommands(i).some((c) => /^npm\s+ci\b/.test(c))) {
        const dir = path.join(root, workdir);
        if (opts.realNpmCi) await realNpmCi(dir, problems, at(df, i));
        else simulateNpmCi(dir, problems, at(df, i));
      }
      // Other RUNs (apt-get, the GPU image's tfjs-node-gpu) change nothing the service's files need to be complete.
    }
    workdirs.push(workdir);
  }
  const last = finalStage(df)!;
  const cmds = ofType(last, Cmd);
  return { root: roots[last.index], workdir: workdirs[last.index], env: stageEnv(df, last), cmd: cmds.length > 0 ? (execForm(cmds[cmds.length - 1]) ?? []) : [], problems };
}

/** What the laid-out runtime stage must hold: every workspace package the service imports, the loader and its tsconfig. */
function layoutProblems(df: ParsedDockerfile, target: Target, layout: Layout): Problems {
  const problems = [...layout.problems];
  const app = path.join(layout.root, APP);
  const names = new Map([...workspacePackages()].map(([name, dir]) => [dir, name]));
  for (const dir of workspaceClosure(target.service)) {
    const name = names.get(dir)!;
    const main = (JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as { main: string }).main;
    if (!existsSync(path.join(app, dir, 'package.json'))) problems.push(`${df.label}: workspaces: ${target.service} imports ${name}, but ${APP}/${dir}/package.json is not in the image`);
    else if (!existsSync(path.join(app, dir, main))) problems.push(`${df.label}: workspaces: ${target.service} imports ${name}, but its main ${APP}/${dir}/${main} is not in the image (COPY ${dir}/src)`);
    else if (!existsSync(path.join(app, 'node_modules', name, 'package.json'))) problems.push(`${df.label}: workspaces: node_modules/${name} is not linked: the deps stage did not get ${dir}/package.json before npm ci`);
  }
  // scripts/register.js loads SWC with <its dir>/../tsconfig.base.json (decorator metadata); without it the sources do not parse.
  for (const file of ['scripts/register.js', 'tsconfig.base.json']) {
    if (!existsSync(path.join(app, file))) problems.push(`${df.label}: workspaces: ${APP}/${file} is not in the image (the TypeScript loader needs it)`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

interface ProcessResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

function runProcess(command: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The image's environment (its ENV), as `docker run` gives it, plus what the test sets; none of this machine's. */
function imageEnv(layout: Layout, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir('home'), ...Object.fromEntries(layout.env), ...extra };
}

/**
 * Starts the image's CMD in the laid-out runtime stage, with the image's ENV and NATS unreachable. Fine: it fails
 * connecting to NATS, which it tries only once every module has loaded and its configuration (the image's ENV
 * included) has been accepted. Not fine: a missing module or file, a refused setting (exit 78), anything else.
 */
async function startProblems(df: ParsedDockerfile, target: Target, layout: Layout): Promise<Problems> {
  const [program, ...args] = layout.cmd;
  if (program === undefined || path.posix.basename(program) !== 'node') return [`${df.label}: start: the CMD does not run node`];
  const natsUrl = `nats://127.0.0.1:${await freePort()}`;
  const env = imageEnv(layout, { NATS_URL: natsUrl, ...(target.service === 'centre-agent' ? { CENTRE_ID: 'layout-check' } : {}) });
  const result = await runProcess(process.execPath, args, { cwd: path.join(layout.root, layout.workdir), env, timeoutMs: 30_000 });
  const missing = /Cannot find module|MODULE_NOT_FOUND|ERR_MODULE_NOT_FOUND|ENOENT/.test(result.output);
  const expected = result.code === 1 && result.output.includes(`cannot connect to NATS at ${natsUrl}`);
  if (result.timedOut) return [`${df.label}: start: still running after 30 s with NATS unreachable:\n${result.output.slice(-1500)}`];
  // What is missing comes first (a long require stack would push it out of the tail).
  const what = /Cannot find module '[^']+'|ENOENT[^\n]*/.exec(result.output)?.[0];
  if (missing || !expected) return [`${df.label}: start: exit ${result.code}${missing ? ' on a missing module or file' : ', not on NATS'}:\n${what ? `${what}\n` : ''}${result.output.slice(-1500)}`];
  return [];
}

// ---------------------------------------------------------------------------------------------------------------

const TARGETS = listDockerfiles();

test('every service has a Dockerfile, and the root .dockerignore keeps installed trees, local state and history out', () => {
  expect(SERVICES.filter((s) => !existsSync(path.join(ROOT, 'services', s, 'Dockerfile')))).toEqual([]);
  for (const rel of ['node_modules/x/index.js', 'libs/ledger/node_modules/x', '.data/nats-auth/centre-c1.nk', '.tools/bin/nats-server', '.git/HEAD', 'bench/results/x.json', 'libs/config/test/config.test.ts', 'coverage/lcov.info']) {
    expect([rel, ignoredByDocker(rel)]).toEqual([rel, true]);
  }
  for (const rel of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'scripts/register.js', 'libs/config/src/index.ts', 'services/aggregator/src/main.ts']) {
    expect([rel, ignoredByDocker(rel)]).toEqual([rel, false]);
  }
});

describe.each(TARGETS)('$rel', (target) => {
  const df = parseDockerfile(target.file, target.rel);
  let layout: Layout;

  beforeAll(async () => {
    layout = await layOut(df, { realNpmCi: process.env.FEDLEDGER_CONTAINER_NPM_CI === '1' });
  }, 1_200_000);

  test('passes the lint rules (multi-stage, pinned bases, non-root, exec form, apt-get, npm, no ADD, no consecutive RUN)', () => {
    expect(lint(df)).toEqual([]);
  });

  test('agrees with the repository: COPY sources, local-stack command, port, health check, settings', () => {
    expect(consistency(df, target)).toEqual([]);
  });

  test('its runtime stage, laid out from the COPY lines, holds every workspace package the service imports', () => {
    expect(layoutProblems(df, target, layout)).toEqual([]);
  });

  test('started from that layout with NATS unreachable, it fails connecting to NATS, not on a missing module', async () => {
    expect(await startProblems(df, target, layout)).toEqual([]);
  }, 60_000);

  if (target.service === 'centre-agent') {
    test('in that layout TensorFlow.js finds a backend (the WebAssembly one and its .wasm files; tfjs-node-gpu only in the GPU image)', async () => {
      const result = await runProcess(process.execPath, ['-r', './scripts/register.js', '-e', "require('@fedledger/training').initTfjs().then((b) => console.log('backend=' + b))"], {
        cwd: path.join(layout.root, layout.workdir),
        env: imageEnv(layout, {}),
        timeoutMs: 30_000,
      });
      expect([result.code, result.output.trim().split('\n').pop()]).toEqual([0, 'backend=wasm']);
    }, 60_000);
  }

  test('its HEALTHCHECK says healthy when the service is, and unhealthy when it is not', async () => {
    const last = finalStage(df)!;
    const [program, ...args] = healthcheckCommand(ofType(last, Healthcheck)[0]) ?? [];
    expect(program).toBe('node');
    const probe = async (env: Record<string, string>) => (await runProcess(process.execPath, args, { cwd: os.tmpdir(), env: { PATH: process.env.PATH, ...env }, timeoutMs: 15_000 })).code;
    // The service's GET /health, played by a server whose answer the test sets: HTTP_PORT for a REST service,
    // HEALTH_PORT for the others.
    const variable = httpDefaultPort(target.service) !== undefined ? 'HTTP_PORT' : 'HEALTH_PORT';
    let status = 200;
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/health' ? status : 404).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const live = String((server.address() as net.AddressInfo).port);
    try {
      expect(await probe({ [variable]: live })).toBe(0);
      status = 503;
      expect(await probe({ [variable]: live })).toBe(1);
      expect(await probe({ [variable]: String(await freePort()) })).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});

test('the GPU image installs the tfjs-node-gpu release of the repository @tensorflow/tfjs, and only in the image', () => {
  const df = parseDockerfile(path.join(ROOT, 'services/centre-agent/Dockerfile.gpu'), 'services/centre-agent/Dockerfile.gpu');
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const tfjs = lock.packages['node_modules/@tensorflow/tfjs']?.version;
  const arg = df.dockerfile
    .getInstructions()
    .filter((i) => i.getKeyword() === 'ARG')
    .map((i) => (i.getArgumentsContent() ?? '').trim())
    .find((a) => a.startsWith('TFJS_NODE_GPU_VERSION='));
  expect(arg).toBe(`TFJS_NODE_GPU_VERSION=${tfjs}`);
  const runs = df.stages.flatMap((s) => ofType(s, Run)).flatMap(shellCommands);
  expect(runs).toContain('npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node-gpu@$TFJS_NODE_GPU_VERSION"');
  expect(runs).toContain('npm_config_nodedir=/usr/local npm rebuild @tensorflow/tfjs-node-gpu');
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  expect(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })).not.toContain('@tensorflow/tfjs-node-gpu');
});

test("the patched FerretDB image (the chart's evaluation cache): the lint rules, the bootstrap's version and patches, the chart's image", () => {
  const label = 'deploy/containers/ferretdb/Dockerfile';
  const df = parseDockerfile(path.join(ROOT, label), label);
  expect(lint(df, { node: false })).toEqual([]);
  const bootstrap = readFileSync(path.join(ROOT, 'scripts/bootstrap-tools.sh'), 'utf8');
  const shell = (name: string) => new RegExp(`^${name}="([^"]*)"$`, 'm').exec(bootstrap)?.[1];
  const args = new Map(
    df.dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === 'ARG')
      .map((i) => (i.getArgumentsContent() ?? '').trim().split('=') as [string, string]),
  );
  expect({ version: args.get('FERRETDB_VERSION'), patches: args.get('FERRETDB_PATCHES') }).toEqual({ version: shell('FERRETDB_VERSION'), patches: shell('FERRETDB_PATCHES') });
  for (const patch of (args.get('FERRETDB_PATCHES') ?? '').split(/\s+/)) expect(existsSync(path.join(ROOT, 'scripts/patches', `${patch}.patch`))).toBe(true);
  // What it copies from the build context is there and not left out by .dockerignore.
  const fromContext = df.stages.flatMap((st) => ofType(st, Copy)).filter((c) => !c.getFromFlag()).map((c) => c.getArguments()[0]!.getValue().replace(/\/$/, ''));
  expect(fromContext.map((src) => [src, existsSync(path.join(ROOT, src)), ignoredByDocker(src)])).toEqual([['scripts/patches', true, false]]);
  const runtime = finalStage(df)!;
  expect(ofType(runtime, Entrypoint).map(execForm)).toEqual([['/ferretdb']]);
  expect(ofType(runtime, Copy).map((c) => [c.getFromFlag()?.getValue(), (c.getArgumentsContent() ?? '').trim()])).toEqual([['build', '/out/ferretdb /ferretdb']]);
  // The chart runs this image, tagged with FerretDB's version and the patch level.
  const values = parseYaml(readFileSync(path.join(ROOT, 'charts/fedledger/charts/mongodb/values.yaml'), 'utf8')) as { engine: string; image: { ferretdb: { repository: string; tag: string } } };
  expect(values.engine).toBe('ferretdb');
  expect(values.image.ferretdb).toEqual({ repository: 'fedledger/ferretdb', tag: expect.stringMatching(new RegExp(`^${(args.get('FERRETDB_VERSION') ?? '').replace(/^v/, '').replace(/\./g, '\\.')}-fedledger\\.\\d+$`)) });
});

test('the Apptainer definition converts the centre-agent image and runs it as local-stack runs the service', () => {
  const def = readFileSync(path.join(ROOT, 'deploy/containers/centre-agent.def'), 'utf8');
  const header = (key: string) => new RegExp(`^${key}:[ \\t]*(\\S+)[ \\t]*$`, 'm').exec(def)?.[1];
  const section = (name: string) => new RegExp(`^%${name}[ \\t]*\\n([\\s\\S]*?)(?=^%|(?![\\s\\S]))`, 'm').exec(def)?.[1] ?? '';
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'services/centre-agent/package.json'), 'utf8')) as { version: string };
  expect([header('Bootstrap'), header('From')]).toEqual(['docker-daemon', `fedledger/centre-agent:${version}`]);

  // Apptainer starts in the caller's directory: the runscript must go to the image's WORKDIR first.
  const runscript = section('runscript').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  expect(runscript[0]).toBe(`cd ${APP} || exit 1`);
  const exec = /^exec (.*) "\$@"$/.exec(runscript[1] ?? '');
  expect(comparableCommand((exec?.[1] ?? '').split(' '))).toEqual(localStackCommand('centre-agent'));

  // %environment repeats the image's ENV (for --cleanenv), with the same values: it must not drift from the Dockerfile.
  const image = parseDockerfile(path.join(ROOT, 'services/centre-agent/Dockerfile'), 'services/centre-agent/Dockerfile');
  const imageEnv = Object.fromEntries(stageEnv(image, finalStage(image)!));
  const exported = [...section('environment').matchAll(/^\s*export (\w+)="\$\{\1:-([^}]*)\}"\s*$/gm)].map((m) => [m[1], m[2]]);
  expect(Object.fromEntries(exported)).toEqual(imageEnv);
  expect(exported.map(([name]) => name).filter((name) => !readsSetting('centre-agent', name))).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------------------
// Each rule can fail: a broken copy of a real Dockerfile, in a temporary directory, one rule at a time

interface Breakage {
  rule: string;
  service: string;
  file?: string;
  why: string;
  edit: (text: string) => string;
  /** What the problem list must then say. */
  expect: RegExp;
}

/** Replaces `from` (which must occur) in the Dockerfile text, so that a breakage cannot silently do nothing. */
const replace = (from: string | RegExp, to: string) => (text: string): string => {
  const edited = text.replace(from, to);
  if (edited === text) throw new Error(`breakage: ${String(from)} does not occur in the Dockerfile`);
  return edited;
};

const BREAKAGES: Breakage[] = [
  { rule: 'multi-stage', service: 'aggregator', why: 'one stage only', edit: (t) => t.slice(t.indexOf('# --- runtime ---')), expect: /multi-stage: 1 stage/ },
  { rule: 'pinned-base', service: 'aggregator', why: 'latest (DL3007)', edit: replace(/FROM node:22\.23\.2-bookworm-slim AS runtime/, 'FROM node:latest AS runtime'), expect: /pinned-base: 'node:latest' is latest \(DL3007\)/ },
  { rule: 'pinned-base', service: 'aggregator', why: 'no tag', edit: replace(/FROM node:22\.23\.2-bookworm-slim AS deps/, 'FROM node AS deps'), expect: /pinned-base: 'node' has no tag/ },
  { rule: 'pinned-base', service: 'aggregator', why: 'floating major', edit: replace(/FROM node:22\.23\.2-bookworm-slim AS runtime/, 'FROM node:22-bookworm-slim AS runtime'), expect: /pinned-base: 'node:22-bookworm-slim': tag '22-bookworm-slim' is not an exact version/ },
  { rule: 'digest-note', service: 'centre-agent', file: 'Dockerfile.gpu', why: 'no # digest: line', edit: replace(/# digest: .*\n/, ''), expect: /digest-note: no '# digest: nvidia\/cuda:11\.8\.0/ },
  { rule: 'non-root', service: 'ledger-indexer', why: 'USER root (DL3002)', edit: replace('USER 1000:1000', 'USER root'), expect: /non-root: the last USER is root/ },
  { rule: 'non-root', service: 'ledger-indexer', why: 'no USER', edit: replace(/USER 1000:1000\n/, ''), expect: /non-root: the final stage sets no USER/ },
  { rule: 'json-form', service: 'round-coordinator', why: 'shell-form CMD (DL3025)', edit: replace(/CMD \["node".*\]\n$/, 'CMD node -r ./scripts/register.js services/round-coordinator/src/main.ts\n'), expect: /json-form: CMD in shell form/ },
  { rule: 'json-form', service: 'aggregator', why: 'shell-form HEALTHCHECK', edit: replace(/CMD \["node", "-e", .*\]\n/, 'CMD node -e "process.exit(0)"\n'), expect: /json-form: HEALTHCHECK: use CMD with a JSON array/ },
  {
    rule: 'apt-get', service: 'passport-registry', why: 'install without --no-install-recommends and without removing the lists (DL3015, DL3009)',
    edit: replace('RUN install -d', 'RUN apt-get update && apt-get install -y curl\nWORKDIR /tmp\nRUN install -d'),
    expect: /apt-get: 'apt-get install -y curl': add --no-install-recommends[\s\S]*apt-get: apt-get install without rm -rf \/var\/lib\/apt\/lists/,
  },
  { rule: 'apt-get', service: 'centre-agent', file: 'Dockerfile.gpu', why: 'no -y', edit: replace('apt-get install -y --no-install-recommends g++', 'apt-get install --no-install-recommends g++'), expect: /apt-get: .* asks for confirmation: add -y/ },
  { rule: 'consecutive-run', service: 'passport-registry', why: 'two RUNs in a row (DL3059)', edit: replace('RUN install -d', 'RUN mkdir -p /srv/x\nRUN install -d'), expect: /consecutive-run: RUN followed by another RUN/ },
  { rule: 'no-add', service: 'aggregator', why: 'ADD (DL3020)', edit: replace('COPY tsconfig.base.json ./', 'ADD tsconfig.base.json ./'), expect: /no-add: ADD: use COPY \(DL3020\)/ },
  { rule: 'npm-install', service: 'aggregator', why: 'install scripts on', edit: replace('npm ci --omit=dev --ignore-scripts', 'npm ci --omit=dev'), expect: /npm-install: 'npm ci --omit=dev --no-audit --no-fund.*add --ignore-scripts/ },
  { rule: 'npm-install', service: 'aggregator', why: 'devDependencies installed', edit: replace('npm ci --omit=dev --ignore-scripts', 'npm ci --ignore-scripts'), expect: /npm-install: .*installs devDependencies: add --omit=dev/ },
  { rule: 'workdir', service: 'aggregator', why: 'another WORKDIR', edit: replace(/(AS runtime[\s\S]*)WORKDIR \/app/, '$1WORKDIR /srv'), expect: /workdir: the final stage's WORKDIR must be \/app/ },
  { rule: 'node-env', service: 'aggregator', why: 'no NODE_ENV=production', edit: replace('NODE_ENV=production', 'NODE_ENV=development'), expect: /node-env: the final stage does not set ENV NODE_ENV=production/ },
  { rule: 'copy-sources', service: 'aggregator', why: 'a path that does not exist', edit: replace('COPY libs/config/src libs/config/src/', 'COPY libs/confg/src libs/config/src/'), expect: /copy-sources: 'libs\/confg\/src' does not exist in the build context/ },
  { rule: 'copy-sources', service: 'aggregator', why: 'a path .dockerignore excludes', edit: replace('COPY libs/config/src libs/config/src/', 'COPY libs/config/src libs/config/src/\nCOPY libs/config/test libs/config/test/'), expect: /copy-sources: 'libs\/config\/test' is excluded by \.dockerignore/ },
  { rule: 'cmd', service: 'centre-agent', why: 'another entry file', edit: replace('"services/centre-agent/src/main.ts"]', '"services/centre-agent/src/service.ts"]'), expect: /cmd: runs .*service\.ts.*but local-stack's serviceComponent runs/ },
  { rule: 'cmd', service: 'aggregator', why: 'no TypeScript loader', edit: replace('CMD ["node", "-r", "./scripts/register.js", ', 'CMD ["node", '), expect: /cmd: runs \["node","services\/aggregator\/src\/main\.ts"\]/ },
  { rule: 'expose', service: 'round-coordinator', why: 'another port', edit: replace('EXPOSE 8080', 'EXPOSE 8081'), expect: /expose: EXPOSE 8081, but round-coordinator's defineService has http\.defaultPort 8080/ },
  { rule: 'expose', service: 'aggregator', why: 'a port on a service without HTTP', edit: replace('USER 1000:1000', 'USER 1000:1000\nEXPOSE 8080'), expect: /expose: EXPOSE 8080, but aggregator has no HTTP API/ },
  { rule: 'healthcheck', service: 'ledger-indexer', why: 'none', edit: replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), expect: /healthcheck: the final stage has no HEALTHCHECK/ },
  { rule: 'healthcheck', service: 'passport-registry', why: 'the wrong default port', edit: replace("(process.env.HTTP_PORT || '8081')", "(process.env.HTTP_PORT || '8080')"), expect: /healthcheck: does not ask GET \/health on HTTP_PORT \(default 8081\)/ },
  { rule: 'env-known', service: 'centre-agent', why: 'a misspelt setting', edit: replace('LOG_FORMAT=json', 'LOG_FORMT=json'), expect: /env-known: ENV LOG_FORMT: nothing centre-agent runs reads it/ },
];

describe('each rule fails on a broken copy of a Dockerfile', () => {
  test.each(BREAKAGES.map((b) => ({ ...b, file: b.file ?? 'Dockerfile' })))('$rule: $service/$file, $why', ({ service, file, edit, expect: expected }) => {
    const rel = `services/${service}/${file}`;
    const copy = path.join(tempDir('broken'), path.basename(rel));
    writeFileSync(copy, edit(readFileSync(path.join(ROOT, rel), 'utf8')));
    const df = parseDockerfile(copy, `broken ${rel}`);
    const target: Target = { rel, file: copy, service };
    expect([...lint(df), ...consistency(df, target)].join('\n')).toMatch(expected);
  });

  // The layout and start checks, on the same kind of copy: these need the files laid out and the service started.
  test('workspaces: without the manifest of an imported package in the deps stage, it is not linked', async () => {
    const rel = 'services/aggregator/Dockerfile';
    const copy = path.join(tempDir('broken'), 'Dockerfile');
    writeFileSync(copy, replace('COPY libs/telemetry/package.json libs/telemetry/\n', '')(readFileSync(path.join(ROOT, rel), 'utf8')));
    const df = parseDockerfile(copy, `broken ${rel}`);
    const target: Target = { rel, file: copy, service: 'aggregator' };
    const layout = await layOut(df);
    expect(layoutProblems(df, target, layout).join('\n')).toMatch(/workspaces: aggregator imports @fedledger\/telemetry, but \/app\/libs\/telemetry\/package\.json is not in the image/);
    expect((await startProblems(df, target, layout)).join('\n')).toMatch(/start: exit 1 on a missing module or file:[\s\S]*Cannot find module '@fedledger\/telemetry'/);
  }, 60_000);

  test('workspaces and start: without the sources of an imported package, the service stops on a missing module', async () => {
    const rel = 'services/centre-agent/Dockerfile';
    const copy = path.join(tempDir('broken'), 'Dockerfile');
    writeFileSync(copy, replace('COPY libs/training/src libs/training/src/\n', '')(readFileSync(path.join(ROOT, rel), 'utf8')));
    const df = parseDockerfile(copy, `broken ${rel}`);
    const target: Target = { rel, file: copy, service: 'centre-agent' };
    const layout = await layOut(df);
    expect(layoutProblems(df, target, layout).join('\n')).toMatch(/workspaces: centre-agent imports @fedledger\/training, but its main \/app\/libs\/training\/src\/index\.ts is not in the image/);
    expect((await startProblems(df, target, layout)).join('\n')).toMatch(/start: exit 1 on a missing module or file:[\s\S]*Cannot find module/);
  }, 60_000);

  test('start: a setting in the image that the service refuses stops it before NATS (exit 78)', async () => {
    const rel = 'services/ledger-indexer/Dockerfile';
    const copy = path.join(tempDir('broken'), 'Dockerfile');
    writeFileSync(copy, replace('LOG_FORMAT=json', 'LOG_FORMAT=xml')(readFileSync(path.join(ROOT, rel), 'utf8')));
    const df = parseDockerfile(copy, `broken ${rel}`);
    const target: Target = { rel, file: copy, service: 'ledger-indexer' };
    expect(consistency(df, target)).toEqual([]); // a known name: only starting it shows the value is refused
    expect((await startProblems(df, target, await layOut(df))).join('\n')).toMatch(/start: exit 78, not on NATS:[\s\S]*LOG_FORMAT/);
  }, 60_000);

  test('start: without tsconfig.base.json SWC drops the decorators, and the service does not get as far as NATS', async () => {
    const rel = 'services/round-coordinator/Dockerfile';
    const copy = path.join(tempDir('broken'), 'Dockerfile');
    writeFileSync(copy, replace('COPY tsconfig.base.json ./\n', '')(readFileSync(path.join(ROOT, rel), 'utf8')));
    const df = parseDockerfile(copy, `broken ${rel}`);
    const target: Target = { rel, file: copy, service: 'round-coordinator' };
    const layout = await layOut(df);
    expect(layoutProblems(df, target, layout).join('\n')).toMatch(/workspaces: \/app\/tsconfig\.base\.json is not in the image/);
    expect((await startProblems(df, target, layout)).join('\n')).toMatch(/start: exit 1, not on NATS/);
  }, 60_000);
});
