import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DatasetError, LABEL_NAMES, loadTabularDataset, scanImageDataset, type DataIssue } from './dataset';

/** A summary of one centre folder, as `fedledger data inspect` prints it. */
export interface CentreInspection {
  id: string;
  dir: string;
  kind: 'image' | 'tabular';
  /** Examples that loaded (images, or rows). */
  examples: number;
  /** By label name: benign, malignant (or `class <n>` for other tabular classes). */
  labels: Record<string, number>;
  patients: number;
  /** How many patients have n examples, by n. */
  examplesPerPatient: Record<string, number>;
  /** Image centres: by the view column, by width x height, and by format/photometric/bits allocated/stored. */
  views?: Record<string, number>;
  sizes?: Record<string, number>;
  formats?: Record<string, number>;
  /** Tabular centres. */
  features?: string[];
  issues: DataIssue[];
}

export interface DatasetInspection {
  root: string;
  /** <root>/synth.json when there is one. */
  synth?: Record<string, unknown>;
  centres: CentreInspection[];
  /** Issues outside any centre (an unreadable synth.json). */
  issues: DataIssue[];
}

export interface InspectOptions {
  /** Per image loaded, for long scans. */
  progress?: (centre: string, done: number, total: number) => void;
  concurrency?: number;
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function perPatient(patients: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of patients.values()) count(out, String(n));
  return out;
}

function kindOf(dir: string): 'image' | 'tabular' | undefined {
  if (existsSync(path.join(dir, 'labels.csv'))) return 'image';
  if (existsSync(path.join(dir, 'data.csv'))) return 'tabular';
  return undefined;
}

async function inspectImageCentre(dir: string, options: InspectOptions): Promise<CentreInspection> {
  const labels: Record<string, number> = { benign: 0, malignant: 0 };
  const patients = new Map<string, number>();
  const views: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  const formats: Record<string, number> = {};
  let examples = 0;
  const name = path.basename(dir);
  const { centreId, issues } = await scanImageDataset(dir, {
    onError: 'skip',
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    progress: (done, total) => options.progress?.(name, done, total),
    visit: (e) => {
      examples++;
      count(labels, LABEL_NAMES[e.label]);
      patients.set(e.patientId, (patients.get(e.patientId) ?? 0) + 1);
      count(views, e.view ?? '(none)');
      count(sizes, `${e.image.width}x${e.image.height}`);
      const m = e.image.meta;
      count(formats, `${m.format} ${m.photometric} ${m.bitsAllocated}/${m.bitsStored}`);
    },
  });
  return { id: centreId, dir, kind: 'image', examples, labels, patients: patients.size, examplesPerPatient: perPatient(patients), views, sizes, formats, issues };
}

function inspectTabularCentre(dir: string): CentreInspection {
  const data = loadTabularDataset(dir, { onError: 'skip' });
  const labels: Record<string, number> = { benign: 0, malignant: 0 };
  for (const l of data.labels) count(labels, LABEL_NAMES[l as 0 | 1] ?? `class ${l}`);
  const patients = new Map<string, number>();
  for (const p of data.patientIds ?? []) patients.set(p, (patients.get(p) ?? 0) + 1);
  return {
    id: data.centreId,
    dir,
    kind: 'tabular',
    examples: data.labels.length,
    labels,
    patients: patients.size,
    examplesPerPatient: perPatient(patients),
    features: data.featureNames,
    issues: data.issues,
  };
}

/**
 * Inspects a dataset root: either a centre folder itself (labels.csv or data.csv) or a folder of centre folders
 * (sorted by name), plus synth.json when present. Reads every image, recording issues rather than stopping.
 */
export async function inspectDataset(root: string, options: InspectOptions = {}): Promise<DatasetInspection> {
  if (!existsSync(root)) throw new Error(`${root}: no such directory`);
  const issues: DataIssue[] = [];
  let synth: Record<string, unknown> | undefined;
  const synthFile = path.join(root, 'synth.json');
  if (existsSync(synthFile)) {
    try {
      synth = JSON.parse(readFileSync(synthFile, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      issues.push({ file: synthFile, reason: `unreadable: ${(err as Error).message}` });
    }
  }
  const dirs =
    kindOf(root) !== undefined
      ? [root]
      : readdirSync(root, { withFileTypes: true })
          .filter((d) => d.isDirectory() && kindOf(path.join(root, d.name)) !== undefined)
          .map((d) => path.join(root, d.name))
          .sort();
  if (dirs.length === 0) throw new Error(`${root}: no centre folders (a folder with labels.csv or data.csv)`);
  const centres: CentreInspection[] = [];
  for (const dir of dirs) {
    const kind = kindOf(dir)!;
    try {
      centres.push(kind === 'image' ? await inspectImageCentre(dir, options) : inspectTabularCentre(dir));
    } catch (err) {
      // A centre that cannot be read at all (no labels.csv header, a required column missing) is one issue.
      if (!(err instanceof DatasetError)) throw err;
      centres.push({ id: path.basename(dir), dir, kind, examples: 0, labels: {}, patients: 0, examplesPerPatient: {}, issues: [err.issue] });
    }
  }
  return { root, ...(synth === undefined ? {} : { synth }), centres, issues };
}
