import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toCsv } from '../data/csv';
import { writeDicomImage } from '../data/dicom-writer';
import { CENTRES, MIN_SMALLEST_CENTRE, planCounts, type CentreSpec, type CountPlan, type ScannerProfile } from './centres';
import { lesionShape, renderTissue, scannerPixels, type LesionShape } from './mammo';
import { Rng, uidFrom } from './random';
import { TABULAR_FEATURES, tabularCentre } from './tabular';

/** Bumped whenever the same seed would give different files. */
/** 2: lesions sized as in a region of interest, firmer contrast, spicules wide enough to survive halving the resolution. */
export const SYNTH_VERSION = 2;

export type SynthKind = 'image' | 'tabular';

export interface SynthOptions {
  out: string;
  seed: number;
  kind?: SynthKind;
  /** Multiplies the default sizes (smallest centre 60 examples). Default 1. */
  scale?: number;
  /** Caps each centre's examples, keeping its benign/malignant ratio. */
  maxPerCentre?: number;
  /** Image width and height in pixels (default 128). */
  size?: number;
  /** Replace an earlier synth in `out` (only synth.json and the five centre folders are removed). */
  overwrite?: boolean;
  /** Files written at once (default 16). */
  concurrency?: number;
  progress?: (progress: SynthProgress) => void;
}

export interface SynthProgress {
  centre: string;
  centreDone: number;
  centreTotal: number;
  done: number;
  total: number;
}

export interface SynthCentreSummary {
  id: string;
  name: string;
  benign: number;
  malignant: number;
  /** Images (kind image) or rows (kind tabular). */
  examples: number;
  patients: number;
  /** The seed's table and the counts before --max-per-centre. */
  table: { benign: number; malignant: number };
  uncapped: { benign: number; malignant: number };
  capped: boolean;
  /** Image centres: the scanner profile's one-line description. */
  scanner?: string;
  photometric?: string;
  bitsStored?: number;
}

/** <out>/synth.json */
export interface SynthManifest {
  generator: 'fedledger-synth';
  version: number;
  kind: SynthKind;
  seed: number;
  scale: number;
  size?: number;
  maxPerCentre: number | null;
  minSmallestCentre: number;
  note: string;
  centres: SynthCentreSummary[];
  /** sha256 over every file of the centre folders (sorted path, NUL, file sha256, newline). */
  digest: string;
  /** Files in the centre folders. */
  files: number;
}

type View = { laterality: 'L' | 'R'; view: 'CC' | 'MLO' };

/** Views per patient, 2 to 4, summing to `images` (one patient of 1 only when images is 1). */
function viewCounts(rng: Rng, images: number): number[] {
  const counts: number[] = [];
  for (let left = images; left > 0; ) {
    let k = left <= 4 ? left : rng.int(2, 4);
    if (left - k === 1) k--;
    counts.push(k);
    left -= k;
  }
  return counts;
}

function viewsOf(rng: Rng, count: number): View[] {
  const first = rng.chance(0.5) ? 'L' : 'R';
  const other = first === 'L' ? 'R' : 'L';
  const both = (laterality: 'L' | 'R'): View[] => [
    { laterality, view: 'CC' },
    { laterality, view: 'MLO' },
  ];
  if (count === 1) return [{ laterality: first, view: rng.chance(0.5) ? 'CC' : 'MLO' }];
  if (count === 2) return both(first);
  if (count === 3) return [...both(first), { laterality: other, view: rng.chance(0.5) ? 'CC' : 'MLO' }];
  return [...both('L'), ...both('R')];
}

interface PatientPlan {
  id: string;
  label: 0 | 1;
  views: View[];
}

function planPatients(seed: number, centre: CentreSpec, counts: CountPlan): PatientPlan[] {
  const rng = Rng.derive(seed, 'image', centre.id, 'patients');
  const patients = [
    ...viewCounts(rng, counts.benign).map((k) => ({ label: 0 as const, k })),
    ...viewCounts(rng, counts.malignant).map((k) => ({ label: 1 as const, k })),
  ];
  rng.shuffle(patients);
  const digits = Math.max(4, String(patients.length).length);
  return patients.map((p, i) => ({ id: `p${String(i + 1).padStart(digits, '0')}`, label: p.label, views: viewsOf(rng, p.k) }));
}

/** Writes files with bounded concurrency and remembers each file's sha256 for the digest. */
class FileWriter {
  readonly hashes = new Map<string, string>();
  private readonly inflight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly root: string,
    private readonly concurrency: number,
  ) {}

  async mkdir(relative: string): Promise<void> {
    await mkdir(path.join(this.root, relative), { recursive: true });
  }

  async write(relative: string, bytes: Uint8Array | string): Promise<void> {
    this.hashes.set(relative, createHash('sha256').update(bytes).digest('hex'));
    const done: Promise<void> = writeFile(path.join(this.root, relative), bytes)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
    if (this.inflight.size >= this.concurrency) await Promise.race(this.inflight);
    if (this.failure !== undefined) throw this.failure.error;
  }

  async flush(): Promise<void> {
    await Promise.all(this.inflight);
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** sha256 over the sorted (path, file sha256) pairs. */
  digest(): string {
    const h = createHash('sha256');
    for (const key of [...this.hashes.keys()].sort()) h.update(`${key}\u0000${this.hashes.get(key)}\n`);
    return h.digest('hex');
  }
}

function scannerJson(s: ScannerProfile): Record<string, unknown> {
  return { ...s, note: 'fictional scanner' };
}

interface Progress {
  done: number;
  total: number;
  report?: (progress: SynthProgress) => void;
}

async function writeImageCentre(writer: FileWriter, seed: number, size: number, centre: CentreSpec, counts: CountPlan, progress: Progress): Promise<SynthCentreSummary> {
  const patients = planPatients(seed, centre, counts);
  const scanner = centre.scanner;
  const rows: string[][] = [['image', 'label', 'patient_id', 'view']];
  const total = counts.benign + counts.malignant;
  let centreDone = 0;
  await writer.mkdir(`${centre.id}/images`);
  for (const patient of patients) {
    const patientId = `${centre.id}-${patient.id}`;
    const density = Rng.derive(seed, 'image', centre.id, patient.id, 'density').uniform(-0.6, 1.2);
    const lesions = new Map<string, LesionShape>();
    for (const [i, view] of patient.views.entries()) {
      if (!lesions.has(view.laterality)) lesions.set(view.laterality, lesionShape(Rng.derive(seed, 'image', centre.id, patient.id, view.laterality), patient.label === 1));
      const rng = Rng.derive(seed, 'image', centre.id, patient.id, view.laterality, view.view);
      const tissue = renderTissue(rng, { size, laterality: view.laterality, view: view.view, density, lesion: lesions.get(view.laterality)! });
      const pixels = scannerPixels(rng, tissue, scanner);
      const uid = (...parts: string[]) => uidFrom(SYNTH_VERSION, seed, centre.id, patient.id, ...parts);
      const bytes = writeDicomImage({
        rows: size,
        columns: size,
        pixels,
        bitsAllocated: scanner.bitsAllocated,
        bitsStored: scanner.bitsStored,
        photometric: scanner.photometric,
        rescaleSlope: scanner.rescaleSlope,
        rescaleIntercept: scanner.rescaleIntercept,
        ...(scanner.window === undefined ? {} : { windowCenter: scanner.window.center, windowWidth: scanner.window.width }),
        patientId,
        view: view.view,
        laterality: view.laterality,
        manufacturer: scanner.manufacturer,
        manufacturerModelName: scanner.model,
        studyInstanceUid: uid('study'),
        seriesInstanceUid: uid('series', view.laterality, view.view),
        sopInstanceUid: uid('image', view.laterality, view.view),
        seriesNumber: 1 + (view.laterality === 'R' ? 2 : 0) + (view.view === 'MLO' ? 1 : 0),
        instanceNumber: i + 1,
      });
      const file = `images/${patient.id}-${view.laterality}-${view.view}.dcm`;
      await writer.write(`${centre.id}/${file}`, bytes);
      rows.push([file, patient.label === 1 ? 'malignant' : 'benign', patientId, `${view.laterality}-${view.view}`]);
      progress.done++;
      progress.report?.({ centre: centre.id, centreDone: ++centreDone, centreTotal: total, done: progress.done, total: progress.total });
    }
  }
  const summary: SynthCentreSummary = {
    id: centre.id,
    name: centre.name,
    benign: counts.benign,
    malignant: counts.malignant,
    examples: total,
    patients: patients.length,
    table: centre.table,
    uncapped: counts.uncapped,
    capped: counts.capped,
    scanner: `${scanner.manufacturer} ${scanner.model}: ${scanner.description}`,
    photometric: scanner.photometric,
    bitsStored: scanner.bitsStored,
  };
  await writer.write(`${centre.id}/labels.csv`, toCsv(rows));
  const centreJson = {
    id: centre.id,
    name: centre.name,
    kind: 'image',
    modality: 'MG',
    synthetic: true,
    scanner: scannerJson(scanner),
    counts: { images: total, benign: counts.benign, malignant: counts.malignant, patients: patients.length },
  };
  await writer.write(`${centre.id}/centre.json`, `${JSON.stringify(centreJson, null, 2)}\n`);
  return summary;
}

async function writeTabularCentre(writer: FileWriter, seed: number, centre: CentreSpec, counts: CountPlan, progress: Progress): Promise<SynthCentreSummary> {
  await writer.mkdir(centre.id);
  const { header, rows } = tabularCentre(seed, centre.id, counts.benign, counts.malignant);
  await writer.write(`${centre.id}/data.csv`, toCsv([header, ...rows]));
  const total = counts.benign + counts.malignant;
  const centreJson = {
    id: centre.id,
    name: centre.name,
    kind: 'tabular',
    modality: 'tabular',
    synthetic: true,
    features: [...TABULAR_FEATURES],
    shift: { description: 'per-feature scale and offset specific to this centre, one feature in other units (×10)' },
    counts: { rows: total, benign: counts.benign, malignant: counts.malignant, patients: rows.length },
  };
  await writer.write(`${centre.id}/centre.json`, `${JSON.stringify(centreJson, null, 2)}\n`);
  progress.done += total;
  progress.report?.({ centre: centre.id, centreDone: total, centreTotal: total, done: progress.done, total: progress.total });
  return { id: centre.id, name: centre.name, benign: counts.benign, malignant: counts.malignant, examples: total, patients: rows.length, table: centre.table, uncapped: counts.uncapped, capped: counts.capped };
}

/** Throws a RangeError naming the option when a value is out of range. */
function checkOptions(o: SynthOptions): void {
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${o.seed}`);
  if (o.scale !== undefined && !(o.scale > 0 && o.scale <= 100)) throw new RangeError(`scale must be in (0, 100], got ${o.scale}`);
  if (o.maxPerCentre !== undefined && !(Number.isInteger(o.maxPerCentre) && o.maxPerCentre >= 4)) throw new RangeError(`maxPerCentre must be an integer ≥ 4, got ${o.maxPerCentre}`);
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 32 && o.size <= 2048)) throw new RangeError(`size must be an integer in [32, 2048], got ${o.size}`);
}

/**
 * Writes five synthetic centres mirroring the seed's table (see CENTRES) under `out`: for kind image
 * `<centre>/images/*.dcm`, `labels.csv` and `centre.json`; for kind tabular `<centre>/data.csv` and `centre.json`;
 * then `<out>/synth.json`. The same options give the same bytes.
 */
export async function synthesize(options: SynthOptions): Promise<SynthManifest> {
  checkOptions(options);
  const kind = options.kind ?? 'image';
  const scale = options.scale ?? 1;
  const size = options.size ?? 128;
  const existing = ['synth.json', ...CENTRES.map((c) => c.id)].filter((name) => existsSync(path.join(options.out, name)));
  if (existing.length > 0) {
    if (options.overwrite !== true) throw new Error(`${options.out} already holds ${existing.join(', ')}: choose another directory or overwrite`);
    for (const name of existing) await rm(path.join(options.out, name), { recursive: true, force: true });
  }
  await mkdir(options.out, { recursive: true });
  const plan = planCounts(scale, options.maxPerCentre);
  const writer = new FileWriter(options.out, options.concurrency ?? 16);
  const progress: Progress = { done: 0, total: plan.reduce((n, c) => n + c.benign + c.malignant, 0), ...(options.progress ? { report: options.progress } : {}) };
  const centres: SynthCentreSummary[] = [];
  for (const [i, centre] of CENTRES.entries()) {
    const counts = plan[i]!;
    centres.push(kind === 'image' ? await writeImageCentre(writer, options.seed, size, centre, counts, progress) : await writeTabularCentre(writer, options.seed, centre, counts, progress));
  }
  await writer.flush();
  const capped = centres.filter((c) => c.capped).map((c) => c.id);
  const manifest: SynthManifest = {
    generator: 'fedledger-synth',
    version: SYNTH_VERSION,
    kind,
    seed: options.seed,
    scale,
    ...(kind === 'image' ? { size } : {}),
    maxPerCentre: options.maxPerCentre ?? null,
    minSmallestCentre: MIN_SMALLEST_CENTRE,
    note:
      capped.length > 0
        ? `--max-per-centre ${options.maxPerCentre} cut ${capped.join(', ')} (benign/malignant ratios kept; relative centre sizes no longer follow the table)`
        : 'counts follow the table: relative centre sizes and benign/malignant ratios, scaled',
    centres,
    digest: writer.digest(),
    files: writer.hashes.size,
  };
  await writeFile(path.join(options.out, 'synth.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
