/**
 * docs/configuration.md, generated from the services' configuration schemas:
 *
 *   node -r ./scripts/register.js scripts/config-reference.ts           # writes docs/configuration.md
 *   node -r ./scripts/register.js scripts/config-reference.ts --check   # exit 1 when it is out of date
 *
 * What each service validates is `serviceConfigSchema(def)` (libs/service-kit): the common settings, HTTP, the blob
 * store, its own and telemetry, as `startService` composes them. Importing `services/<name>/src/service.ts` starts
 * nothing (it defines the service; `main.ts` runs it).
 *
 * For each variable: its type and allowed values (from the schema, and from the message the schema gives for a bad
 * value), its default, when it is required (the schema, cross-variable rules found by trying each value of every
 * enum, and the start-up checks outside the schema listed in STARTUP_CHECKS), what the service's container image
 * sets (its Dockerfile's ENV), and a description: `.describe()` if any, else the JSDoc comment right above the
 * `NAME:` key in the source, else FALLBACK_DESCRIPTIONS (marked † in the output), else the comment of the fragment
 * that declares it (`NAME (…)` in libs/config), else the comment of the zod value it is built from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, Env } from 'dockerfile-ast';
import { z } from 'zod';
import { ConfigError, loadConfig } from '@fedledger/config';
import { serviceConfigSchema, type ServiceDefinition } from '@fedledger/service-kit';
import { aggregatorService } from '../services/aggregator/src/service';
import { centreAgentService } from '../services/centre-agent/src/service';
import { ledgerIndexerService } from '../services/ledger-indexer/src/service';
import { passportRegistryService } from '../services/passport-registry/src/service';
import { roundCoordinatorService } from '../services/round-coordinator/src/service';

const ROOT = path.resolve(__dirname, '..');
const OUTPUT = 'docs/configuration.md';
/** Where the shared pieces are declared, searched after the service's own service.ts for comments. */
const SHARED_SOURCES = ['libs/service-kit/src/service.ts', 'libs/config/src/fragments.ts'];

/**
 * Descriptions of variables whose source has no comment to take one from (shown with †). Keyed by variable, or by
 * `<service>:<variable>` for one service. An entry no longer used is reported, so that it can be deleted once the
 * source has its own comment.
 */
const FALLBACK_DESCRIPTIONS: Record<string, string> = {
  LOG_LEVEL: 'Least severe level that is logged.',
  LOG_FORMAT: '`text` for people; `json`: one JSON object a line, for log collectors.',
  SHUTDOWN_TIMEOUT_MS:
    'On SIGTERM or SIGINT the service takes no new work and waits this long for handlers in flight; their messages are redelivered if they do not finish. The process exits at the latest 5 s later.',
  HTTP_HOST: 'Address the REST API listens on. The default, loopback, exposes nothing; the images and the charts set 0.0.0.0.',
  HTTP_PORT: 'Port of the REST API (GET /health, /docs, /openapi.json); 0 lets the OS choose one.',
  HEALTH_HOST: 'Address GET /health listens on when HEALTH_PORT is set. The default, loopback, exposes nothing; the charts set 0.0.0.0 for the probes.',
  HEALTH_PORT: 'Port of GET /health alone (200 ok, 503 degraded: NATS unreachable or a check failing), for Kubernetes probes; unset: no port at all. 0 lets the OS choose one.',
  FEDLEDGER_OTEL_EXPORTER: 'Where traces and metrics go: nowhere, the console, or OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.',
  OTEL_EXPORTER_OTLP_ENDPOINT:
    'The collector\'s OTLP/HTTP base URL, e.g. `http://collector:4318` (traces go to `/v1/traces`, metrics to `/v1/metrics`), or its traces URL `…/v1/traces`.',
  LEDGER_DIR: "The embedded ledger's folder (LEDGER=embedded), read only.",
  FABRIC_CONNECTION: 'LEDGER=fabric: the connection file (peerEndpoint, tlsRootCert, channel, chaincode), as `fedledger up --ledger fabric` writes it.',
  IDENTITY_DIR: "The organisations' MSP folders as `fedledger identity init` lays them out: their CAs, and this service's own identity.",
  HEARTBEAT_INTERVAL_MS: 'How often the agent sends its heartbeat (every second while heartbeats fail).',
  MONGO_DB: "The cache's database.",
};

/**
 * What services check when they start, beyond their schema (a failure exits 78 naming the variable, as a schema
 * error does). `requiredWhen` also goes in the table. Each names the source file that makes the check; the script
 * fails if that file no longer mentions the variable.
 */
const STARTUP_CHECKS: { service: string; variable: string; requiredWhen?: string; check: string; source: string }[] = [
  {
    service: 'round-coordinator',
    variable: 'IDENTITY_DIR',
    check: 'must exist and hold at least one organisation: writes to the REST API are signed by identities of its organisations',
    source: 'services/round-coordinator/src/auth/signed-request.guard.ts',
  },
  {
    service: 'round-coordinator',
    variable: 'COORDINATOR_IDENTITY',
    check: 'with LEDGER=embedded or fabric, must name an identity in IDENTITY_DIR',
    source: 'services/round-coordinator/src/grants/grant-gate.ts',
  },
  {
    service: 'passport-registry',
    variable: 'REGISTRY_IDENTITY',
    check: 'must name an identity in IDENTITY_DIR, with role aggregator',
    source: 'services/passport-registry/src/ledger/registry-ledger.ts',
  },
  {
    service: 'ledger-indexer',
    variable: 'INDEXER_IDENTITY',
    check: 'must name an identity in IDENTITY_DIR',
    source: 'services/ledger-indexer/src/index/indexer-runner.ts',
  },
  {
    service: 'centre-agent',
    variable: 'CENTRE_IDENTITY',
    requiredWhen: 'when LEDGER is embedded or fabric',
    check: 'required with LEDGER=embedded or fabric, and must name an identity in IDENTITY_DIR',
    source: 'services/centre-agent/src/grants/grant-check.ts',
  },
  {
    service: 'centre-agent',
    variable: 'LEDGER_DATASET_ID',
    requiredWhen: 'when LEDGER is embedded or fabric',
    check: 'required with LEDGER=embedded or fabric: the dataset whose grants the agent checks',
    source: 'services/centre-agent/src/grants/grant-check.ts',
  },
  ...['round-coordinator', 'passport-registry', 'ledger-indexer', 'centre-agent'].flatMap((service) => [
    {
      service,
      variable: 'FABRIC_CONNECTION',
      check: 'with LEDGER=fabric, must be a JSON file naming peerEndpoint, tlsRootCert, channel and chaincode',
      source: 'libs/ledger-host/src/open-ledger.ts',
    },
    // The coordinator checks IDENTITY_DIR whatever LEDGER says (above).
    ...(service === 'round-coordinator'
      ? []
      : [{ service, variable: 'IDENTITY_DIR', check: "with LEDGER=embedded, must hold at least one organisation (the ledger's members)", source: 'libs/ledger-host/src/open-ledger.ts' }]),
  ]),
];

/** The services in the order the docs name them. */
const SERVICES = [roundCoordinatorService, aggregatorService, passportRegistryService, ledgerIndexerService, centreAgentService];

interface Row {
  variable: string;
  type: string;
  default: string;
  required: string;
  image: string;
  description: string;
}

interface ServiceReference {
  name: string;
  facts: string[];
  rows: Row[];
}

const usedFallbacks = new Set<string>();

/** A value no variable accepts: not a number, URL, path, host or id. */
const PROBE = '\u0000 /?';

const code = (s: string) => `\`${s}\``;
/** A table cell: one line, `|` escaped, and `<…>` outside code spans shown rather than taken for HTML. */
const cell = (s: string) =>
  s
    .replace(/\s*\n\s*/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|');

/** The schema the service validates its environment with (libs/service-kit `serviceConfigSchema`). */
function composedSchema<S extends z.AnyZodObject>(def: ServiceDefinition<S>): z.ZodTypeAny {
  return serviceConfigSchema(def);
}

/** Every variable of a schema built from objects, `.merge`, `.and` and effects. */
function fieldsOf(schema: z.ZodTypeAny, into = new Map<string, z.ZodTypeAny>()): Map<string, z.ZodTypeAny> {
  if (schema instanceof z.ZodObject) for (const [name, field] of Object.entries(schema.shape as z.ZodRawShape)) into.set(name, field);
  else if (schema instanceof z.ZodIntersection) {
    fieldsOf(schema._def.left as z.ZodTypeAny, into);
    fieldsOf(schema._def.right as z.ZodTypeAny, into);
  } else if (schema instanceof z.ZodEffects) fieldsOf(schema._def.schema as z.ZodTypeAny, into);
  else throw new Error(`cannot list the variables of a ${schema.constructor.name}`);
  return into;
}

/** The type inside defaults, optionals and effects. */
function innermost(t: z.ZodTypeAny): z.ZodTypeAny {
  if (t instanceof z.ZodDefault || t instanceof z.ZodOptional) return innermost(t._def.innerType as z.ZodTypeAny);
  if (t instanceof z.ZodEffects) return innermost(t._def.schema as z.ZodTypeAny);
  return t;
}

function withoutDefault(t: z.ZodTypeAny): z.ZodTypeAny {
  return t instanceof z.ZodDefault || t instanceof z.ZodOptional ? withoutDefault(t._def.innerType as z.ZodTypeAny) : t;
}

/** What the schema says of a bad value, in its own words ("expected nats://host:port"). */
function complaints(t: z.ZodTypeAny): string[] {
  const result = withoutDefault(t).safeParse(PROBE);
  return result.success ? [] : [...new Set(result.error.issues.map((i) => i.message))];
}

function typeOf(t: z.ZodTypeAny): string {
  const base = innermost(t);
  if (base instanceof z.ZodEnum) return (base.options as string[]).map(code).join(' | ');
  if (base instanceof z.ZodNumber) {
    let min: number | undefined;
    let max: number | undefined;
    let kind = 'number';
    for (const c of base._def.checks) {
      if (c.kind === 'min') min = c.value;
      else if (c.kind === 'max') max = c.value;
      else if (c.kind === 'int') kind = 'integer';
    }
    const range = min !== undefined && max !== undefined ? ` ${min}..${max}` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : '';
    // envInt's message names the unit: "expected milliseconds 0..3600000".
    const unit = complaints(t)
      .map((m) => /^expected (.+) -?\d+\.\.-?\d+$/.exec(m)?.[1])
      .find((u) => u !== undefined && u !== 'an integer');
    return `${kind}${range}${unit ? ` (${unit})` : ''}`;
  }
  if (base instanceof z.ZodString) {
    const nonEmpty = base._def.checks.some((c) => c.kind === 'min' && c.value >= 1);
    // The schema's own words for a bad value, turned into what it wants: "expected X" → X, "no such Y" → an existing Y.
    const wants = complaints(t)
      .filter((m) => !/^String must contain/.test(m))
      .map((m) => m.replace(/^expected /, '').replace(/^no such /, 'an existing '));
    return wants.length ? `string: ${wants.join('; ')}` : nonEmpty ? 'string, not empty' : 'string';
  }
  throw new Error(`no description for a ${base.constructor.name}`);
}

function defaultOf(t: z.ZodTypeAny): string | undefined {
  if (!(t instanceof z.ZodDefault)) return undefined;
  const value: unknown = t._def.defaultValue();
  return value === '' ? '(empty)' : code(String(value));
}

/** Text of a JSDoc block: no `*` margins, one line. */
function jsdocText(block: string): string {
  return block
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sentence = (s: string) => (s ? `${s[0]!.toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}` : s);

/** The JSDoc comment right above `NAME:` in a source file. */
function fieldComment(source: string, name: string): string | undefined {
  const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${escapeRegExp(name)}\\s*:`).exec(source);
  return m ? jsdocText(m[1]!) : undefined;
}

/** `NAME (…)` in a JSDoc comment of a fragment (libs/config), unless all it says is the default or whether it is required. */
function fragmentComment(source: string, name: string): string | undefined {
  for (const block of source.match(/\/\*\*(?:(?!\*\/)[\s\S])*\*\//g) ?? []) {
    const text = jsdocText(block.slice(3, -2));
    const start = text.search(new RegExp(`\\b${escapeRegExp(name)} \\(`));
    if (start < 0) continue;
    let depth = 0;
    let i = text.indexOf('(', start);
    const open = i;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      if (text[i] === ')' && --depth === 0) break;
    }
    const inside = text
      .slice(open + 1, i)
      .split(';')
      .map((p) => p.trim())
      .filter((p) => !/^(optional|required|default .*)$/.test(p))
      .join('; ');
    if (inside) return inside;
  }
  return undefined;
}

/** The comment of the zod value the field is built from (`NAME: natsUrl.default(…)` → natsUrl's). */
function valueComment(sources: string[], name: string): string | undefined {
  for (const source of sources) {
    const ident = new RegExp(`\\b${escapeRegExp(name)}\\s*:\\s*([A-Za-z_$][\\w$]*)\\b`).exec(source)?.[1];
    if (!ident || ident === 'z') continue;
    for (const s of sources) {
      const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export const ${escapeRegExp(ident)}\\b`).exec(s);
      if (m) return jsdocText(m[1]!);
    }
  }
  return undefined;
}

function describe(service: string, name: string, t: z.ZodTypeAny, sources: string[]): string {
  for (let s: z.ZodTypeAny | undefined = t; s; s = s instanceof z.ZodDefault || s instanceof z.ZodOptional ? (s._def.innerType as z.ZodTypeAny) : undefined) {
    if (s.description) return s.description;
  }
  for (const source of sources) {
    const own = fieldComment(source, name);
    if (own) return own;
  }
  for (const key of [`${service}:${name}`, name]) {
    const text = FALLBACK_DESCRIPTIONS[key];
    if (text !== undefined) {
      usedFallbacks.add(key);
      return `${text} †`;
    }
  }
  for (const source of sources) {
    const fromFragment = fragmentComment(source, name);
    if (fromFragment) return sentence(fromFragment);
  }
  const fromValue = valueComment(sources, name);
  if (fromValue) return fromValue;
  throw new Error(`${service}: ${name} has no description: add a JSDoc comment above it, or an entry in FALLBACK_DESCRIPTIONS`);
}

/** The variables the service's image sets: ENV of the Dockerfile's last stage. */
function imageEnv(service: string): Map<string, string> {
  const text = readFileSync(path.join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  const lastFrom = froms[froms.length - 1]?.getRange().start.line ?? 0;
  const env = new Map<string, string>();
  for (const instruction of dockerfile.getInstructions()) {
    if (!(instruction instanceof Env) || instruction.getRange().start.line < lastFrom) continue;
    for (const p of instruction.getProperties()) env.set(p.getName(), p.getUnescapedValue() ?? '');
  }
  return env;
}

/**
 * Variables required only when another has a given value, found by setting each value of every enum variable and
 * looking for "required …" on a variable that is otherwise optional (e.g. OTEL_EXPORTER_OTLP_ENDPOINT with otlp).
 */
function conditionalRequirements(service: string, schema: z.ZodTypeAny, fields: Map<string, z.ZodTypeAny>): Map<string, string[]> {
  const optional = new Set([...fields].filter(([, t]) => t instanceof z.ZodOptional).map(([name]) => name));
  const found = new Map<string, string[]>();
  for (const [name, t] of fields) {
    const base = innermost(t);
    if (!(base instanceof z.ZodEnum)) continue;
    for (const value of base.options as string[]) {
      try {
        loadConfig(service, schema, { [name]: value });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const issue of err.issues) {
          if (!optional.has(issue.variable) || !issue.reason.startsWith('required')) continue;
          found.set(issue.variable, [...(found.get(issue.variable) ?? []), `${name}=${value}`]);
        }
      }
    }
  }
  return found;
}

async function reference<S extends z.AnyZodObject>(def: ServiceDefinition<S>): Promise<ServiceReference> {
  const name = def.name;
  const schema = composedSchema(def);
  const fields = fieldsOf(schema);
  for (const own of Object.keys(def.config.shape as z.ZodRawShape)) {
    if (!fields.has(own)) throw new Error(`${name}: the composed schema lacks ${own}, one of the service's own variables: is it still what startService validates?`);
  }
  const sources = [`services/${name}/src/service.ts`, ...SHARED_SOURCES].map((f) => readFileSync(path.join(ROOT, f), 'utf8'));
  const conditions = conditionalRequirements(name, schema, fields);
  const image = imageEnv(name);
  const checks = STARTUP_CHECKS.filter((c) => c.service === name);
  const rows = [...fields].map(([variable, t]): Row => {
    const dflt = defaultOf(t);
    const when = [...(conditions.get(variable)?.map((c) => `when ${c}`) ?? []), ...checks.filter((c) => c.variable === variable && c.requiredWhen).map((c) => c.requiredWhen!)];
    const required = dflt !== undefined ? 'no' : t instanceof z.ZodOptional ? (when.length ? when.join('; ') : 'no') : 'yes';
    const imageValue = image.get(variable);
    return {
      variable,
      type: typeOf(t),
      default: dflt ?? '—',
      required,
      image: imageValue === undefined ? '' : imageValue === '' ? '(empty)' : code(imageValue),
      description: describe(name, variable, t, sources),
    };
  });
  const facts = [
    def.http ? `REST API on HTTP_PORT (default ${def.http.defaultPort}): GET /health, /docs, /openapi.json.` : 'No REST API; GET /health on HEALTH_PORT when set, otherwise no listening port.',
    def.principal ? 'On NATS it is its centre: principal `centre-<CENTRE_ID>`.' : `On NATS it is the principal ${code(name)}.`,
    ...(def.blobStore ? ['Opens the weights blob store (FL_BLOBS): BLOB_MAX_BYTES and BLOB_CHUNK_KIB apply.'] : []),
  ];
  return { name, facts, rows };
}

const HEADER = '| Variable | Type / allowed values | Default | Required | Image | Description |\n|---|---|---|---|---|---|';
const rowLine = (r: Row) => `| ${code(r.variable)} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.required)} | ${cell(r.image)} | ${cell(r.description)} |`;
const sameRow = (a: Row, b: Row) => JSON.stringify(a) === JSON.stringify(b);

function render(services: ServiceReference[]): string {
  // Variables every service reads the same way are listed once.
  const first = services[0]!;
  const common = first.rows.filter((r) => services.every((s) => s.rows.some((o) => sameRow(o, r))));
  const commonNames = new Set(common.map((r) => r.variable));
  const out: string[] = [
    `<!-- Generated by scripts/config-reference.ts from the services' configuration schemas: do not edit. \`npm run docs:config\` writes it; \`npm run docs:config:check\` (part of \`npm run check\`) fails when it is out of date. -->`,
    '',
    '# Configuration reference',
    '',
    'Every service reads its configuration from environment variables once, when it starts, and refuses to start on a',
    'bad value: it prints every bad variable with the reason (`<service>: <VARIABLE>: <reason>, got \'<value>\'`) and exits',
    'with code 78 (EX_CONFIG). Empty variables count as unset, so their defaults apply; unknown variables are ignored.',
    'Values that look secret, and passwords in URLs, are never echoed.',
    '',
    'Columns: **Required** `no` when the service runs without it; **Image** the value the service\'s container image sets',
    '(`services/<name>/Dockerfile`), which replaces the default; the Helm charts set more ([charts/README.md](../charts/README.md),',
    '[deployment.md](deployment.md)). † marks a description written for this reference because the source has no comment',
    'on that field.',
    '',
    '## Every service',
    '',
    HEADER,
    ...common.map(rowLine),
    '',
  ];
  for (const s of services) {
    out.push(`## ${s.name}`, '', ...s.facts.map((f) => `- ${f}`), '- Also reads the variables of [every service](#every-service).', '', HEADER, ...s.rows.filter((r) => !commonNames.has(r.variable)).map(rowLine), '');
    const checks = STARTUP_CHECKS.filter((c) => c.service === s.name);
    if (checks.length) {
      out.push('Checked when it starts, beyond the types above (a failure also exits 78, naming the variable):', '');
      for (const c of checks) out.push(`- ${code(c.variable)} ${c.check} ([${path.basename(c.source)}](../${c.source})).`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Every start-up check must still be made where it says: its source file names the variable. */
function checkStartupChecks(): void {
  for (const c of STARTUP_CHECKS) {
    const text = readFileSync(path.join(ROOT, c.source), 'utf8');
    if (!text.includes(c.variable)) throw new Error(`STARTUP_CHECKS: ${c.source} no longer mentions ${c.variable} (${c.service}): update the list`);
  }
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  checkStartupChecks();
  const services: ServiceReference[] = [];
  for (const def of SERVICES) services.push(await reference(def as ServiceDefinition<z.AnyZodObject>));
  const unused = Object.keys(FALLBACK_DESCRIPTIONS).filter((k) => !usedFallbacks.has(k));
  if (unused.length) process.stderr.write(`config-reference: FALLBACK_DESCRIPTIONS not used any more (delete them): ${unused.join(', ')}\n`);
  const text = render(services);
  const file = path.join(ROOT, OUTPUT);
  if (check) {
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== text) {
      process.stderr.write(`${OUTPUT} is out of date with the configuration schemas: run \`npm run docs:config\`\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(file, text);
  process.stdout.write(`wrote ${OUTPUT}: ${services.map((s) => `${s.name} ${s.rows.length}`).join(', ')} variables\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`config-reference: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
