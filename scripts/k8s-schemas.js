#!/usr/bin/env node
// Vendors the Kubernetes JSON schemas kubeconform checks the charts against (npm run lint:charts), so that the check
// needs no network: kubeconform's default registry is a GitHub URL, unreachable here and in air-gapped CI.
//
//   node scripts/k8s-schemas.js generate   -> charts/.schemas/<version>-standalone-strict/<kind>-<group>-<version>.json
//   node scripts/k8s-schemas.js check      -> exit 1 when the committed files differ from a fresh generation
//
// Source: api/openapi-spec/swagger.json of the k8s.io/kubernetes module, fetched through the Go module proxy (the only
// official source reachable here; the zip is the release tag's tree). The conversion is what openapi2jsonschema
// --kubernetes --strict --stand-alone does for yannh/kubernetes-json-schema, kubeconform's default registry:
//   - every $ref inlined (standalone: one file per kind, no references to resolve);
//   - IntOrString (format int-or-string) -> string or integer, Quantity -> string or number (`cpu: 1` is valid YAML
//     and valid Kubernetes, while the swagger types Quantity as a string only);
//   - optional fields (not in their parent's `required`) may also be null, as Helm renders unset values;
//   - strict: `additionalProperties: false` on every object schema that has `properties` and says nothing about
//     additional ones, so an unknown or misspelt field is an error (what `kubectl --validate=strict` refuses);
//   - `kind` and `apiVersion` restricted to the kind's own (x-kubernetes-group-version-kind).
// Descriptions are left out: they are most of the bytes and no validation reads them. The `x-kubernetes-*`
// extensions are kept; JSON Schema validators ignore keywords they do not know.
//
// Only the kinds the charts render are written: a chart that starts rendering another kind fails lint:charts
// ("could not find schema") until it is added to KINDS below and this script is run again.
'use strict';

const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** The Kubernetes release the schemas come from; helm (scripts/bootstrap-tools.sh) is built for the same minor. */
const K8S_VERSION = 'v1.37.2';
const OUT_DIR = path.join(ROOT, 'charts', '.schemas', `${K8S_VERSION}-standalone-strict`);
const OUT_REL = path.relative(ROOT, OUT_DIR);
const SWAGGER_IN_ZIP = 'api/openapi-spec/swagger.json';

/** [group ('' for core), version, kind]: what charts/fedledger, charts/fedledger-centre and their subcharts render. */
const KINDS = [
  ['apps', 'v1', 'Deployment'],
  ['apps', 'v1', 'StatefulSet'],
  ['', 'v1', 'Service'],
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'ServiceAccount'],
  ['', 'v1', 'Pod'],
  ['', 'v1', 'PersistentVolumeClaim'],
  ['networking.k8s.io', 'v1', 'NetworkPolicy'],
  ['policy', 'v1', 'PodDisruptionBudget'],
];

const REF_PREFIX = '#/definitions/';
// Functions: every use gets its own object (a later step adds keys to what it was given).
const intOrString = () => ({ oneOf: [{ type: 'string' }, { type: 'integer' }] });
const quantity = () => ({ oneOf: [{ type: 'string' }, { type: 'number' }] });
const SPECIAL = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': intOrString,
  'io.k8s.apimachinery.pkg.api.resource.Quantity': quantity,
};

/** The swagger of K8S_VERSION, from the Go module cache (downloaded through GOPROXY on first use). */
function loadSwagger() {
  let info;
  try {
    info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${K8S_VERSION}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GOFLAGS: '-mod=mod' } }));
  } catch (err) {
    throw new Error(`go mod download k8s.io/kubernetes@${K8S_VERSION} failed (Go and the module proxy are needed): ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof info.Dir !== 'string') throw new Error(`go mod download k8s.io/kubernetes@${K8S_VERSION} gave no source directory: ${info.Error ?? 'no Dir in its answer'}`);
  const file = path.join(info.Dir, SWAGGER_IN_ZIP);
  if (!fs.existsSync(file)) throw new Error(`${file}: not in the k8s.io/kubernetes@${K8S_VERSION} module`);
  const bytes = fs.readFileSync(file);
  const swagger = JSON.parse(bytes.toString('utf8'));
  if (swagger === null || typeof swagger.definitions !== 'object') throw new Error(`${file}: no "definitions" object`);
  return { definitions: swagger.definitions, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

/** The definition name of a kind, found by its x-kubernetes-group-version-kind (exactly one must match). */
function definitionOf(definitions, [group, version, kind]) {
  const names = Object.keys(definitions).filter((name) =>
    (definitions[name]['x-kubernetes-group-version-kind'] ?? []).some((gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind),
  );
  const gv = group === '' ? version : `${group}/${version}`;
  if (names.length !== 1) throw new Error(`swagger.json of ${K8S_VERSION}: ${names.length} definitions for ${kind} ${gv} (${names.join(', ') || 'none'}), expected one`);
  return names[0];
}

/**
 * One schema with every $ref inlined, optional fields nullable, `additionalProperties: false` where strict asks for it.
 * `trail` is the chain of definitions being inlined, to name a cycle (none of KINDS has one: JSONSchemaProps does).
 */
function convert(definitions, schema, trail) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    if (!schema.$ref.startsWith(REF_PREFIX)) throw new Error(`${trail.join(' -> ')}: unsupported $ref ${schema.$ref}`);
    const name = schema.$ref.slice(REF_PREFIX.length);
    if (trail.includes(name)) throw new Error(`${[...trail, name].join(' -> ')}: recursive definition, cannot be inlined`);
    if (SPECIAL[name]) return SPECIAL[name]();
    if (!definitions[name]) throw new Error(`${trail.join(' -> ')}: $ref to unknown definition ${name}`);
    // Siblings of a $ref are descriptions and defaults; the definition says what is valid.
    return convert(definitions, definitions[name], [...trail, name]);
  }
  if (schema.format === 'int-or-string') return intOrString();

  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (key === 'properties') {
      const required = new Set(schema.required ?? []);
      out.properties = {};
      for (const [prop, sub] of Object.entries(value)) {
        const converted = convert(definitions, sub, trail);
        if (!required.has(prop) && typeof converted.type === 'string') converted.type = [converted.type, 'null'];
        out.properties[prop] = converted;
      }
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = convert(definitions, value, trail);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = value.map((sub) => convert(definitions, sub, trail));
    } else {
      out[key] = value;
    }
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** The file name kubeconform asks for: {{ .ResourceKind }}{{ .KindSuffix }}.json (pkg/registry: first group label). */
function fileName([group, version, kind]) {
  const suffix = group === '' ? `-${version}` : `-${group.split('.')[0]}-${version}`;
  return `${kind}${suffix}.json`.toLowerCase();
}

/** file name -> contents, for every kind in KINDS, plus the folder's README naming the source. */
function generate() {
  const { definitions, sha256 } = loadSwagger();
  const files = new Map();
  for (const gvk of KINDS) {
    const [group, version, kind] = gvk;
    const name = definitionOf(definitions, gvk);
    const schema = convert(definitions, definitions[name], [name]);
    const gv = group === '' ? version : `${group}/${version}`;
    schema.properties.kind.enum = [kind];
    schema.properties.apiVersion.enum = [gv];
    files.set(fileName(gvk), `${JSON.stringify(schema, null, 1)}\n`);
  }
  files.set(
    'README.md',
    [
      `# Kubernetes ${K8S_VERSION} JSON schemas (standalone, strict)`,
      '',
      'Generated by `npm run charts:schemas` (scripts/k8s-schemas.js). Do not edit: change KINDS there and run it again.',
      '',
      `Source: \`${SWAGGER_IN_ZIP}\` of the Go module \`k8s.io/kubernetes@${K8S_VERSION}\`, sha256 \`${sha256}\`.`,
      '',
      `Kinds: ${KINDS.map(([group, version, kind]) => `${kind} (${group === '' ? version : `${group}/${version}`})`).join(', ')}.`,
      '',
    ].join('\n'),
  );
  return files;
}

function main() {
  const mode = process.argv[2] ?? 'generate';
  if (mode !== 'generate' && mode !== 'check') {
    process.stderr.write(`usage: node scripts/k8s-schemas.js [generate|check] (got '${mode}')\n`);
    process.exit(2);
  }
  const files = generate();
  const existing = fs.existsSync(OUT_DIR) ? fs.readdirSync(OUT_DIR) : [];
  if (mode === 'check') {
    const stale = [...files].filter(([name, text]) => !fs.existsSync(path.join(OUT_DIR, name)) || fs.readFileSync(path.join(OUT_DIR, name), 'utf8') !== text).map(([name]) => name);
    const extra = existing.filter((name) => !files.has(name));
    if (stale.length + extra.length > 0) {
      process.stderr.write(`${OUT_REL}: out of date (${[...stale.map((n) => `${n} differs`), ...extra.map((n) => `${n} not generated`)].join(', ')}); run \`npm run charts:schemas\`\n`);
      process.exit(1);
    }
    process.stderr.write(`${OUT_REL}: up to date (${files.size - 1} kinds)\n`);
    return;
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });
  // A kind dropped from KINDS leaves no schema behind that would hide a chart rendering it.
  for (const name of existing) if (!files.has(name)) fs.rmSync(path.join(OUT_DIR, name));
  for (const [name, text] of files) fs.writeFileSync(path.join(OUT_DIR, name), text);
  const bytes = [...files.values()].reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  process.stderr.write(`${OUT_REL}: ${files.size - 1} kinds written (${Math.round(bytes / 1024)} KiB)\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`k8s-schemas: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
