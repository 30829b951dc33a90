import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatasetInspection, SynthManifest } from '@fedledger/training';
import { fedledgerIn } from './run-cli';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'fedledger-cli-data-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a command line in this process (cwd = the temp folder), capturing what it prints. */
const fedledger = (...argv: string[]) => fedledgerIn(tmp, argv);

const SMALL = ['--scale', '0.1', '--max-per-centre', '40', '--size', '48'];
const IDS = ['optimam-stge', 'optimam-jarv', 'inbreast', 'bcdr', 'cmmd'];

describe('fedledger data synth / inspect', () => {
  it('synth writes five DICOM centres with progress on stderr and a summary on stdout', async () => {
    const r = await fedledger('data', 'synth', '--out', 'img', '--seed', '5', ...SMALL);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toMatch(/^synthesising image centres in img \(seed 5\)/);
    expect(r.stderr).toMatch(/cmmd: \d+\/\d+ images/);
    expect(r.stdout).toMatch(/^wrote 5 image centres, \d+ images of 48 px, to img in [\d.]+ s/);
    for (const id of IDS) expect(r.stdout).toMatch(new RegExp(`\\n  ${id} +\\d+ +\\d+ +\\d+ +\\d+ +`));
    expect(r.stdout).toContain('MONOCHROME1');
    expect(r.stdout).toMatch(/--max-per-centre 40 cut /);
    const manifest = JSON.parse(readFileSync(path.join(tmp, 'img', 'synth.json'), 'utf8')) as SynthManifest;
    expect(r.stdout).toContain(`digest sha256 ${manifest.digest}`);
    expect(manifest).toMatchObject({ seed: 5, scale: 0.1, size: 48, maxPerCentre: 40 });
  });

  it('synth --json prints the manifest; the same seed gives the same digest', async () => {
    const r = await fedledger('data', 'synth', '--out', 'img-again', '--seed', '5', ...SMALL, '--json');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as SynthManifest & { out: string; seconds: number };
    const first = JSON.parse(readFileSync(path.join(tmp, 'img', 'synth.json'), 'utf8')) as SynthManifest;
    expect(printed.digest).toBe(first.digest);
    expect(printed.out).toBe(path.join(tmp, 'img-again'));
    expect(printed.seconds).toEqual(expect.any(Number));
    expect(printed.centres.map((c) => c.id)).toEqual(IDS);
  });

  it('inspect reports counts, patients, sizes and formats per centre, and exits 0 without issues', async () => {
    const manifest = JSON.parse(readFileSync(path.join(tmp, 'img', 'synth.json'), 'utf8')) as SynthManifest;
    const r = await fedledger('data', 'inspect', 'img', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DatasetInspection;
    expect(report.synth).toMatchObject({ seed: 5, digest: manifest.digest });
    expect(report.issues).toEqual([]);
    for (const c of manifest.centres) {
      const centre = report.centres.find((x) => x.id === c.id)!;
      expect(centre).toMatchObject({ kind: 'image', examples: c.examples, labels: { benign: c.benign, malignant: c.malignant }, patients: c.patients, sizes: { '48x48': c.examples }, issues: [] });
    }
    expect(report.centres.find((c) => c.id === 'cmmd')!.formats).toEqual({ 'dicom MONOCHROME1 16/16': manifest.centres[4]!.examples });
    expect(report.centres.find((c) => c.id === 'bcdr')!.formats).toEqual({ 'dicom MONOCHROME2 8/8': manifest.centres[3]!.examples });

    const text = await fedledger('data', 'inspect', 'img');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^img: 5 centres \(synthetic, seed 5, scale 0.1, generator v2\)/);
    expect(text.stdout).toMatch(/cmmd +image +\d+ .* 48x48:\d+ +dicom MONOCHROME1 16\/16:\d+ +0/);
  });

  it('inspect names the file and line of a malformed row and exits 1', async () => {
    const labels = path.join(tmp, 'img', 'inbreast', 'labels.csv');
    const lines = readFileSync(labels, 'utf8').trimEnd().split('\n').length;
    appendFileSync(labels, 'images/p0001-L-CC.dcm,benjgn,x,L-CC\nimages/nope.dcm,benign,x,L-CC\n');
    const r = await fedledger('data', 'inspect', 'img');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('issues (2):');
    expect(r.stdout).toContain(`img/inbreast/labels.csv:${lines + 1} (column label): unknown label 'benjgn' (expected benign or malignant)`);
    expect(r.stdout).toContain(`img/inbreast/images/nope.dcm (listed at labels.csv:${lines + 2}): file not found`);
  });

  it('synth --kind tabular writes data.csv centres that inspect reads', async () => {
    const r = await fedledger('data', 'synth', '--out', 'tab', '--kind', 'tabular', '--seed', '2', '--scale', '0.2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote 5 tabular centres, \d+ rows, to tab/);
    expect(existsSync(path.join(tmp, 'tab', 'cmmd', 'data.csv'))).toBe(true);
    const report = JSON.parse((await fedledger('data', 'inspect', 'tab', '--json')).stdout) as DatasetInspection;
    expect(report.centres.map((c) => [c.id, c.kind, c.issues.length, c.features?.length])).toEqual(IDS.slice().sort().map((id) => [id, 'tabular', 0, 10]));
  });

  it('refuses bad command lines (exit 2) and an occupied --out (exit 1) with one clear line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['data', 'synth', '--seed', '1'], 2, /^fedledger data synth: give --out <dir> \(see `fedledger data --help`\)$/],
      [['data', 'synth', '--out', 'x', '--kind', 'video'], 2, /--kind must be image or tabular, got 'video'/],
      [['data', 'synth', '--out', 'x', '--scale=-1'], 2, /--scale must be a positive number, got '-1'/],
      [['data', 'synth', '--out', 'x', '--max-per-centre', '2.5'], 2, /--max-per-centre must be a positive integer, got '2.5'/],
      [['data', 'synth', '--out', 'x', '--seed', 'abc'], 2, /--seed must be a non-negative integer, got 'abc'/],
      [['data', 'synth', '--out', 'x', '--max-per-centre', '3'], 2, /--max-per-centre must be at least 4 \(two patients of two views\), got 3/],
      [['data', 'synth', '--out', 'x', '--size', '8'], 2, /size must be an integer in \[32, 2048\], got 8/],
      [['data', 'synth', '--out', 'x', '--colour'], 2, /Unknown option '--colour'/],
      [['data', 'shuffle'], 2, /unknown subcommand 'shuffle' \(synth or inspect\)/],
      [['data', 'inspect'], 2, /give exactly one dataset directory/],
      [['data', 'inspect', 'nowhere'], 1, /nowhere: no such directory/],
      [['data', 'synth', '--out', 'img', '--seed', '5'], 1, /img already holds synth\.json, optimam-stge, .* \(--force replaces it\)$/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await fedledger(...argv);
      expect({ argv, code: r.code, stderr: r.stderr }).toEqual({ argv, code, stderr: expect.stringMatching(message) });
    }
  });

  it('is wired into the real binary', async () => {
    const bin = path.join(__dirname, '..', 'bin', 'fedledger.js');
    const r = await new Promise<Result>((resolve) => {
      const child = spawn(process.execPath, [bin, 'data', 'synth', '--out', path.join(tmp, 'bin'), '--kind', 'tabular', '--scale', '0.1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect((JSON.parse(r.stdout) as SynthManifest).kind).toBe('tabular');
  }, 30_000);
});
