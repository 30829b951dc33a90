import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatIssue, inspectDataset, synthesize, type CentreInspection, type DatasetInspection, type SynthManifest } from '@fedledger/training';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, table, type Io } from '../io';
import type { Command } from './command';

const help = `Usage: fedledger data synth --out <dir> [--seed <n>] [--kind image|tabular] [--scale <k>]
                           [--max-per-centre <n>] [--size <px>] [--force] [--json]
       fedledger data inspect <dir> [--json]

synth writes five synthetic centres (optimam-stge, optimam-jarv, inbreast, bcdr, cmmd) mirroring the
benign/malignant counts of the seed's table, scaled so that the smallest centre (InBreast) has 60 examples:
  image    <dir>/<centre>/images/*.dcm (DICOM MG, each centre its own fictional scanner: bit depth, contrast
           curve, noise, rescale, window; cmmd MONOCHROME1), labels.csv (image,label,patient_id,view), centre.json
  tabular  <dir>/<centre>/data.csv (10 numeric features shifted per centre, patient_id, label), centre.json
and <dir>/synth.json (seed, scale, counts, digest). The same options give the same bytes.

inspect reads a dataset (a centre folder, or a folder of them) and prints per centre the counts by label,
patients, image sizes, formats and every malformed row or unreadable file; exits 1 when there is any.

Options:
  --out <dir>             where to write (synth)
  --seed <n>              seed (default 1)
  --kind <kind>           image (default) or tabular
  --scale <k>             multiplies every centre's size (default 1: 7171 images, about 230 MB)
  --max-per-centre <n>    cap each centre at n examples, keeping its benign/malignant ratio
  --size <px>             image width and height (default 128)
  --force                 replace an earlier synth in --out (its synth.json and centre folders only)
  --json                  the result as one JSON object on stdout (progress stays on stderr)`;

function positiveNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'`, 'data synth');
  }
  return n;
}

/** At most one progress line every two seconds, and one when a centre is done. */
function progressPrinter(io: Io, unit: string): (centre: string, done: number, total: number) => void {
  const started = Date.now();
  let last = 0;
  return (centre, done, total) => {
    const now = Date.now();
    if (done !== total && now - last < 2000) return;
    last = now;
    io.err(`  ${centre}: ${done}/${total} ${unit} (${((now - started) / 1000).toFixed(1)} s)`);
  };
}

async function runSynth(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('data synth', () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        seed: { type: 'string', default: '1' },
        kind: { type: 'string', default: 'image' },
        scale: { type: 'string' },
        'max-per-centre': { type: 'string' },
        size: { type: 'string' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help === true) {
    io.out(help);
    return 2;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'data synth');
  if (values.out === undefined || values.out === '') throw new UsageError('give --out <dir>', 'data synth');
  if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`, 'data synth');
  const kind = values.kind;
  if (kind !== 'image' && kind !== 'tabular') throw new UsageError(`--kind must be image or tabular, got '${kind}'`, 'data synth');
  const scale = positiveNumber('--scale', values.scale, false);
  const maxPerCentre = positiveNumber('--max-per-centre', values['max-per-centre'], true);
  if (maxPerCentre !== undefined && maxPerCentre < 4) throw new UsageError(`--max-per-centre must be at least 4 (two patients of two views), got ${maxPerCentre}`, 'data synth');
  const size = positiveNumber('--size', values.size, true);
  const out = path.resolve(io.cwd, values.out);
  const started = Date.now();
  const progress = progressPrinter(io, kind === 'image' ? 'images' : 'rows');
  io.err(`synthesising ${kind} centres in ${displayPath(out, io.cwd)} (seed ${values.seed})`);
  let manifest: SynthManifest;
  try {
    manifest = await synthesize({
      out,
      seed: Number(values.seed),
      kind,
      ...(scale === undefined ? {} : { scale }),
      ...(maxPerCentre === undefined ? {} : { maxPerCentre }),
      ...(size === undefined ? {} : { size }),
      overwrite: values.force,
      progress: (p) => progress(p.centre, p.centreDone, p.centreTotal),
    });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message, 'data synth');
    throw new CliError(`${(err as Error).message}${/already holds/.test((err as Error).message) ? ' (--force replaces it)' : ''}`);
  }
  const seconds = (Date.now() - started) / 1000;
  if (values.json) {
    io.out(JSON.stringify({ out, seconds, ...manifest }));
    return 0;
  }
  const total = manifest.centres.reduce((n, c) => n + c.examples, 0);
  io.out(
    `wrote ${manifest.centres.length} ${kind} centres, ${total} ${kind === 'image' ? `images of ${manifest.size} px` : 'rows'}, to ${displayPath(out, io.cwd)} in ${seconds.toFixed(1)} s`,
  );
  io.out(
    table([
      ['centre', 'examples', 'benign', 'malignant', 'patients', ...(kind === 'image' ? ['scanner'] : [])],
      ...manifest.centres.map((c) => [c.id, String(c.examples), String(c.benign), String(c.malignant), String(c.patients), ...(c.scanner === undefined ? [] : [c.scanner])]),
    ]),
  );
  io.out(`  ${manifest.note}`);
  io.out(`  digest sha256 ${manifest.digest} (${manifest.files} files; seed ${manifest.seed}, scale ${manifest.scale})`);
  return 0;
}

function histogram(record: Record<string, number> | undefined): string {
  if (record === undefined) return '-';
  return Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');
}

const SHOWN_ISSUES = 20;

function printInspection(report: DatasetInspection, io: Io): void {
  const synth = report.synth;
  io.out(
    `${displayPath(report.root, io.cwd)}: ${report.centres.length} centre${report.centres.length === 1 ? '' : 's'}` +
      (synth === undefined ? '' : ` (synthetic, seed ${String(synth.seed)}, scale ${String(synth.scale)}, generator v${String(synth.version)})`),
  );
  const row = (c: CentreInspection) => [
    c.id,
    c.kind,
    String(c.examples),
    String(c.labels.benign ?? 0),
    String(c.labels.malignant ?? 0),
    String(c.patients),
    histogram(c.examplesPerPatient),
    c.kind === 'image' ? histogram(c.sizes) : `${c.features?.length ?? 0} features`,
    c.kind === 'image' ? histogram(c.formats) : '-',
    String(c.issues.length),
  ];
  io.out(table([['centre', 'kind', 'examples', 'benign', 'malignant', 'patients', 'per patient', 'sizes', 'formats', 'issues'], ...report.centres.map(row)]));
  const issues = [...report.issues, ...report.centres.flatMap((c) => c.issues)];
  if (issues.length === 0) return;
  io.out(`issues (${issues.length}):`);
  for (const issue of issues.slice(0, SHOWN_ISSUES)) io.out(`  ${formatIssue({ ...issue, file: displayPath(issue.file, io.cwd) })}`);
  if (issues.length > SHOWN_ISSUES) io.out(`  … and ${issues.length - SHOWN_ISSUES} more (--json lists them all)`);
}

async function runInspect(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('data inspect', () =>
    parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }),
  );
  if (values.help === true) {
    io.out(help);
    return 2;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one dataset directory', 'data inspect');
  const root = path.resolve(io.cwd, positionals[0]!);
  let report: DatasetInspection;
  try {
    report = await inspectDataset(root, { progress: progressPrinter(io, 'images') });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (values.json) io.out(JSON.stringify(report));
  else printInspection(report, io);
  return report.issues.length + report.centres.reduce((n, c) => n + c.issues.length, 0) === 0 ? 0 : 1;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'synthesise centre datasets (DICOM mammograms or tabular) and inspect datasets',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'synth') return runSynth(rest, io);
    if (sub === 'inspect') return runInspect(rest, io);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.out(help);
      return 2;
    }
    throw new UsageError(`unknown subcommand '${sub}' (synth or inspect)`);
  },
};
