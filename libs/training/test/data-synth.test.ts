import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { csvTable, loadImageDataset, loadTabularDataset, type ImageDataset } from '../src/data';
import { CENTRES, planCounts, synthesize, SYNTH_VERSION, TABULAR_FEATURES, type SynthManifest } from '../src/synth';

let root: string;
beforeAll(() => (root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-synth-'))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL = { scale: 0.1, maxPerCentre: 60, size: 64 } as const;
const IDS = ['optimam-stge', 'optimam-jarv', 'inbreast', 'bcdr', 'cmmd'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe('planCounts: the table, scaled', () => {
  const table = new Map(CENTRES.map((c) => [c.id, c.table]));

  it('gives the smallest centre (InBreast) at least 60 images by default and keeps sizes and ratios', () => {
    const plan = planCounts(1, undefined);
    expect(plan.map((c) => c.id)).toEqual(IDS);
    const inbreast = plan.find((c) => c.id === 'inbreast')!;
    expect(inbreast.benign + inbreast.malignant).toBeGreaterThanOrEqual(60);
    const factor = 60 / 342;
    for (const c of plan) {
      const t = table.get(c.id)!;
      expect(Math.abs(c.benign - t.benign * factor)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(c.malignant - t.malignant * factor)).toBeLessThanOrEqual(0.5);
      expect(c.capped).toBe(false);
    }
    expect(plan.reduce((n, c) => n + c.benign + c.malignant, 0)).toBe(7171);
  });

  it('--scale multiplies, --max-per-centre cuts only the large centres and keeps their ratio', () => {
    expect(planCounts(2, undefined).find((c) => c.id === 'inbreast')).toMatchObject({ benign: 85, malignant: 35 });
    const capped = planCounts(1, 500);
    for (const c of capped) {
      const t = table.get(c.id)!;
      expect(c.benign + c.malignant).toBeLessThanOrEqual(500);
      expect(c.capped).toBe(c.uncapped.benign + c.uncapped.malignant > 500);
      expect(Math.abs(c.benign / (c.benign + c.malignant) - t.benign / (t.benign + t.malignant))).toBeLessThan(0.01);
    }
    expect(capped.filter((c) => c.capped).map((c) => c.id)).toEqual(['optimam-stge', 'optimam-jarv', 'cmmd']);
  });
});

describe('synthesize --kind image', () => {
  let a: SynthManifest;
  let datasets: ImageDataset[];
  const dirA = () => path.join(root, 'a');

  beforeAll(async () => {
    const progress: number[] = [];
    a = await synthesize({ out: dirA(), seed: 7, ...SMALL, progress: (p) => progress.push(p.done) });
    expect(progress[progress.length - 1]).toBe(a.centres.reduce((n, c) => n + c.examples, 0));
    datasets = await Promise.all(IDS.map((id) => loadImageDataset(path.join(dirA(), id), { onError: 'fail' })));
  });

  it('is deterministic for a seed: same digest and bytes twice, another digest for another seed', async () => {
    const b = await synthesize({ out: path.join(root, 'b'), seed: 7, ...SMALL });
    const c = await synthesize({ out: path.join(root, 'c'), seed: 8, ...SMALL });
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
    expect(filesUnder(path.join(root, 'b'))).toEqual(filesUnder(dirA()));
    for (const file of ['cmmd/labels.csv', 'cmmd/images/p0001-L-CC.dcm', 'bcdr/centre.json', 'synth.json'].filter((f) => filesUnder(dirA()).includes(f))) {
      expect(readFileSync(path.join(root, 'b', file)).equals(readFileSync(path.join(dirA(), file)))).toBe(true);
    }
    const sample = filesUnder(dirA()).find((f) => f.endsWith('.dcm'))!;
    expect(readFileSync(path.join(root, 'c', sample)).equals(readFileSync(path.join(dirA(), sample)))).toBe(false);
  });

  it('writes synth.json with seed, scale, version, the cap and each centre’s counts', () => {
    const manifest = JSON.parse(readFileSync(path.join(dirA(), 'synth.json'), 'utf8')) as SynthManifest;
    expect(manifest).toEqual(a);
    expect(manifest).toMatchObject({ generator: 'fedledger-synth', version: SYNTH_VERSION, kind: 'image', seed: 7, scale: 0.1, size: 64, maxPerCentre: 60, minSmallestCentre: 60 });
    expect(manifest.note).toMatch(/--max-per-centre 60 cut optimam-stge, optimam-jarv, cmmd/);
    expect(manifest.centres.map((c) => [c.id, c.benign, c.malignant])).toEqual(planCounts(0.1, 60).map((c) => [c.id, c.benign, c.malignant]));
    expect(manifest.files).toBe(filesUnder(dirA()).length - 1);
  });

  it('every centre loads with zero issues, with the labels, patients and views of its labels.csv', () => {
    for (const [i, data] of datasets.entries()) {
      const summary = a.centres[i]!;
      expect(data.centreId).toBe(IDS[i]);
      expect(data.issues).toEqual([]);
      expect(data.examples.filter((e) => e.label === 0)).toHaveLength(summary.benign);
      expect(data.examples.filter((e) => e.label === 1)).toHaveLength(summary.malignant);
      const patients = new Map<string, { labels: Set<number>; views: string[] }>();
      for (const e of data.examples) {
        const p = patients.get(e.patientId) ?? { labels: new Set(), views: [] };
        p.labels.add(e.label);
        p.views.push(e.view!);
        patients.set(e.patientId, p);
        expect(e.file).toBe(`images/${e.patientId.slice(IDS[i]!.length + 1)}-${e.view}.dcm`);
        expect([e.image.meta.patientId, `${e.image.meta.laterality}-${e.image.meta.view}`]).toEqual([e.patientId, e.view]);
        expect([e.image.width, e.image.height]).toEqual([64, 64]);
      }
      expect(patients.size).toBe(summary.patients);
      for (const p of patients.values()) {
        expect(p.labels.size).toBe(1); // a patient is benign or malignant
        expect(p.views.length).toBeGreaterThanOrEqual(2);
        expect(p.views.length).toBeLessThanOrEqual(4);
        expect(new Set(p.views).size).toBe(p.views.length);
      }
    }
    const perPatient = datasets.flatMap((d) => [...new Set(d.examples.map((e) => e.patientId))].map((p) => d.examples.filter((e) => e.patientId === p).length));
    expect(new Set(perPatient)).toEqual(new Set([2, 3, 4]));
  });

  it('gives each centre its scanner: bit depth, photometric, window; cmmd is MONOCHROME1', () => {
    const meta = datasets.map((d) => d.examples[0]!.image.meta);
    expect(meta.map((m) => [m.photometric, m.bitsAllocated, m.bitsStored, m.voi])).toEqual([
      ['MONOCHROME2', 16, 12, 'window'],
      ['MONOCHROME2', 16, 14, 'window'],
      ['MONOCHROME2', 16, 14, 'window'],
      ['MONOCHROME2', 8, 8, 'minmax'],
      ['MONOCHROME1', 16, 16, 'window'],
    ]);
    const centreJson = JSON.parse(readFileSync(path.join(dirA(), 'cmmd', 'centre.json'), 'utf8')) as Record<string, unknown>;
    expect(centreJson).toMatchObject({ id: 'cmmd', kind: 'image', modality: 'MG', scanner: { photometric: 'MONOCHROME1', manufacturer: 'Meridian Imaging' }, counts: { images: a.centres[4]!.examples } });
    // Displayed, MONOCHROME1 is inverted like the others: air (the image corners) is dark everywhere.
    for (const d of datasets) for (const e of d.examples.slice(0, 5)) expect(e.image.data[0]!).toBeLessThan(0.25);
  });

  it('makes centres differ in intensity distribution, and not in a way that gives the label away', () => {
    const quantiles = (values: number[]) => {
      const s = Float64Array.from(values).sort();
      return Array.from({ length: 21 }, (_, q) => s[Math.round((q / 20) * (s.length - 1))]!);
    };
    const pooled = datasets.map((d) => quantiles(d.examples.flatMap((e) => Array.from(e.image.data.filter((_, i) => i % 5 === 0)))));
    const distances: number[] = [];
    for (let i = 0; i < pooled.length; i++) for (let j = i + 1; j < pooled.length; j++) distances.push(pooled[i]!.reduce((n, v, q) => n + Math.abs(v - pooled[j]![q]!), 0) / 21);
    expect(Math.min(...distances)).toBeGreaterThan(0.01);
    expect(distances.reduce((n, d) => n + d, 0) / distances.length).toBeGreaterThan(0.05);
    // Mean brightness, standardised per centre, hardly separates benign from malignant (AUC near 0.5).
    const scored = datasets.flatMap((d) => {
      const means = d.examples.map((e) => e.image.data.reduce((n, v) => n + v, 0) / e.image.data.length);
      const mu = means.reduce((n, v) => n + v, 0) / means.length;
      const sd = Math.sqrt(means.reduce((n, v) => n + (v - mu) ** 2, 0) / means.length) || 1;
      return d.examples.map((e, k) => ({ label: e.label, z: (means[k]! - mu) / sd }));
    });
    const pos = scored.filter((s) => s.label === 1);
    const neg = scored.filter((s) => s.label === 0);
    const auc = pos.reduce((n, p) => n + neg.reduce((m, q) => m + (p.z > q.z ? 1 : p.z === q.z ? 0.5 : 0), 0), 0) / (pos.length * neg.length);
    expect(auc).toBeGreaterThan(0.3);
    expect(auc).toBeLessThan(0.7);
  });

  it('refuses to write over an earlier synth unless told to, and then replaces only its own folders', async () => {
    await expect(synthesize({ out: dirA(), seed: 7, ...SMALL })).rejects.toThrow(`${dirA()} already holds synth.json, optimam-stge, optimam-jarv, inbreast, bcdr, cmmd`);
    const keep = path.join(root, 'c', 'notes.txt');
    writeFileSync(keep, 'mine');
    const again = await synthesize({ out: path.join(root, 'c'), seed: 7, ...SMALL, overwrite: true });
    expect(again.digest).toBe(a.digest);
    expect(readFileSync(keep, 'utf8')).toBe('mine');
    await expect(synthesize({ out: path.join(root, 'd'), seed: -1 })).rejects.toThrow(RangeError);
    await expect(synthesize({ out: path.join(root, 'd'), seed: 1, size: 8 })).rejects.toThrow('size must be an integer in [32, 2048], got 8');
  });
});

describe('synthesize --kind tabular', () => {
  it('writes five CSV centres that load back with zero issues, deterministic, with centre-specific shifts', async () => {
    const out = path.join(root, 'tab');
    const manifest = await synthesize({ out, seed: 3, kind: 'tabular', scale: 0.5 });
    const again = await synthesize({ out: path.join(root, 'tab2'), seed: 3, kind: 'tabular', scale: 0.5 });
    expect(again.digest).toBe(manifest.digest);
    expect(manifest).toMatchObject({ kind: 'tabular', seed: 3, scale: 0.5, maxPerCentre: null });
    expect(manifest.size).toBeUndefined();
    const means: number[][] = [];
    for (const [i, id] of IDS.entries()) {
      const data = loadTabularDataset(path.join(out, id), { onError: 'fail' });
      const summary = manifest.centres[i]!;
      expect(data.centreId).toBe(id);
      expect(data.issues).toEqual([]);
      expect(data.featureNames).toEqual([...TABULAR_FEATURES]);
      expect(Array.from(data.labels).filter((l) => l === 1)).toHaveLength(summary.malignant);
      expect(data.features).toHaveLength(summary.benign + summary.malignant);
      expect(new Set(data.patientIds).size).toBe(data.features.length);
      means.push(data.featureNames.map((_, j) => data.features.reduce((n, r) => n + r[j]!, 0) / data.features.length));
      expect(csvTable(readFileSync(path.join(out, id, 'data.csv'), 'utf8'))!.header).toEqual(['patient_id', ...TABULAR_FEATURES, 'label']);
      expect(JSON.parse(readFileSync(path.join(out, id, 'centre.json'), 'utf8'))).toMatchObject({ id, kind: 'tabular', counts: { rows: data.features.length } });
    }
    // Covariate shift: every pair of centres differs clearly in some feature's mean.
    for (let i = 0; i < means.length; i++) {
      for (let j = i + 1; j < means.length; j++) {
        const gap = Math.max(...means[i]!.map((m, k) => Math.abs(m - means[j]![k]!) / Math.max(1, Math.abs(m))));
        expect(gap).toBeGreaterThan(0.1);
      }
    }
  });
});
