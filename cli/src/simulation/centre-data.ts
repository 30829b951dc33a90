import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DataPlan, LandmarkPlan } from '@fedledger/contracts';
import { centreKind, csvTable, learnStandardLandmarks, scanImageDataset, synthesize, type GrayImage } from '@fedledger/training';
import { CliError } from '../errors';
import { displayPath, type Io } from '../io';

/** The landmark percentiles of simulate's experiments (Nyúl–Udupa: pc1, the deciles, pc2). */
export const LANDMARK_PERCENTILES = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99];
/** Display values at or below this are air around the breast, not tissue. */
export const FOREGROUND_THRESHOLD = 0.05;
/** The centre whose images define the standard scale: InBreast, a public dataset every hospital may see. */
export const REFERENCE_CENTRE = 'inbreast';

export interface CentreFolders {
  root: string;
  kind: 'image' | 'tabular';
  /** Centre id → folder. */
  centres: Map<string, string>;
}

/** The centre folders under `root` (each with labels.csv or data.csv), all of one kind. */
export function centreFolders(root: string): CentreFolders {
  if (!existsSync(root)) throw new CliError(`${root}: no such directory`);
  const centres = new Map<string, string>();
  const kinds = new Set<'image' | 'tabular'>();
  for (const entry of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    if (!existsSync(path.join(dir, 'labels.csv')) && !existsSync(path.join(dir, 'data.csv'))) continue;
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(entry.name)) throw new CliError(`${dir}: a centre folder's name is its id: 1..128 letters, digits, '_' or '-'`);
    kinds.add(centreKind(dir));
    centres.set(entry.name, dir);
  }
  if (centres.size === 0) throw new CliError(`${root}: no centre folders (sub-folders with labels.csv or data.csv)`);
  if (kinds.size > 1) throw new CliError(`${root}: mixes image centres (labels.csv) and tabular ones (data.csv); an experiment uses one kind`);
  return { root, kind: [...kinds][0]!, centres };
}

/** The default data: synthetic DICOM centres under .data/synth, generated on first use (seed 1). */
export async function defaultData(io: Io): Promise<string> {
  const root = path.join(io.cwd, '.data', 'synth');
  if (existsSync(path.join(root, 'synth.json'))) return root;
  io.err(`[simulate] generating the synthetic centres in ${displayPath(root, io.cwd)} (once; about a minute)`);
  let last = 0;
  await synthesize({
    out: root,
    seed: 1,
    kind: 'image',
    progress: (p) => {
      if (Date.now() - last < 3000 && p.done !== p.total) return;
      last = Date.now();
      io.err(`[simulate]   ${p.centre}: ${p.centreDone}/${p.centreTotal} images (${p.done}/${p.total} in all)`);
    },
  });
  return root;
}

/**
 * The standard scale of the histogram matching, learnt (Nyúl–Udupa training) from the reference centre's
 * images — or the smallest centre when there is none — and written into the experiment's definition.
 */
export async function learnLandmarks(folders: CentreFolders): Promise<LandmarkPlan> {
  const [id, dir] = folders.centres.has(REFERENCE_CENTRE) ? [REFERENCE_CENTRE, folders.centres.get(REFERENCE_CENTRE)!] : [...folders.centres.entries()][0]!;
  const images: GrayImage[] = [];
  await scanImageDataset(dir, { onError: 'skip', visit: (e) => images.push(e.image) });
  if (images.length === 0) throw new CliError(`${dir}: no readable images in the reference centre ${id} to learn the histogram landmarks from`);
  const config = learnStandardLandmarks(images, { percentiles: LANDMARK_PERCENTILES, scale: [0, 1], foregroundThreshold: FOREGROUND_THRESHOLD });
  return { percentiles: [...config.percentiles], standard: [...config.standard], foregroundThreshold: config.foregroundThreshold ?? FOREGROUND_THRESHOLD };
}

/** Feature columns of a tabular centre (everything but label and patient_id). */
export function tabularFeatures(dir: string): number {
  const file = path.join(dir, 'data.csv');
  const table = csvTable(readFileSync(file, 'utf8'));
  if (!table) throw new CliError(`${file}: empty`);
  return table.header.filter((h) => h !== 'label' && h !== 'patient_id').length;
}

/** The experiment's data definition for these centres. */
export async function dataPlan(folders: CentreFolders, inputSize: number, splitSeed = 1, histogramMatching = true): Promise<DataPlan> {
  const base = { normalisation: 'zscore' as const, validationFraction: 0.2, testFraction: 0.2, splitSeed };
  if (folders.kind === 'tabular') return { ...base, inputShape: [tabularFeatures([...folders.centres.values()][0]!)], augment: false };
  return { ...base, inputShape: [inputSize, inputSize, 1], ...(histogramMatching ? { landmarks: await learnLandmarks(folders) } : {}), augment: true };
}
