import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG, type ColorType } from 'pngjs';
import { decodeImage, ImageReadError, readPngImage } from '../src/data';

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-png-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Encodes with pngjs: `samples` per pixel as given by colorType (0 grey, 2 RGB, 6 RGBA), 8 or 16 bits. */
function encode(width: number, height: number, colorType: ColorType, bitDepth: 8 | 16, samples: number[]): Buffer {
  const png = new PNG({ width, height, colorType, inputColorType: colorType, bitDepth, inputHasAlpha: colorType === 6 });
  png.data = bitDepth === 16 ? Buffer.from(Uint16Array.from(samples).buffer) : Buffer.from(samples);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, bitDepth, inputHasAlpha: colorType === 6, filterType: 0 });
}

function values(data: Float32Array): number[] {
  return Array.from(data, (v) => Math.round(v * 1e6) / 1e6);
}

describe('readPngImage', () => {
  it('reads 8-bit grey as v / 255', () => {
    const bytes = encode(3, 1, 0, 8, [0, 51, 255]);
    expect(bytes[24]).toBe(8); // IHDR bit depth
    expect(bytes[25]).toBe(0); // IHDR colour type: grey
    const image = readPngImage(bytes, 'grey8.png');
    expect([image.width, image.height]).toEqual([3, 1]);
    expect(values(image.data)).toEqual([0, 0.2, 1]);
    expect(image.meta).toMatchObject({ format: 'png', photometric: 'MONOCHROME2', bitsStored: 8 });
  });

  it('reads 16-bit grey at full precision (v / 65535), not rescaled to 8 bits', () => {
    const bytes = encode(2, 2, 0, 16, [0, 1, 32768, 65535]);
    expect(bytes[24]).toBe(16);
    // The file itself (unfiltered rows): big-endian samples, as PNG wants, whatever pngjs does on reading.
    const idat = bytes.indexOf('IDAT');
    const raw = inflateSync(bytes.subarray(idat + 4, idat + 4 + bytes.readUInt32BE(idat - 4)));
    expect(Array.from(raw)).toEqual([0, 0x00, 0x00, 0x00, 0x01, 0, 0x80, 0x00, 0xff, 0xff]);
    const image = readPngImage(bytes, 'grey16.png');
    expect(values(image.data)).toEqual([0, 1 / 65535, 32768 / 65535, 1].map((v) => Math.round(v * 1e6) / 1e6));
    expect(image.data[1]).toBeGreaterThan(0); // 1/65535 would be 0 after an 8-bit rescale
    expect(image.meta.bitsStored).toBe(16);
  });

  it('turns RGB and RGBA into BT.601 luminance, ignoring alpha', () => {
    const rgb = readPngImage(encode(2, 1, 2, 8, [255, 0, 0, 10, 20, 30]), 'rgb.png');
    expect(values(rgb.data)).toEqual([0.299, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255].map((v) => Math.round(v * 1e6) / 1e6));
    expect(rgb.meta.photometric).toBe('RGB');
    const rgba = readPngImage(encode(1, 1, 6, 8, [0, 255, 0, 7]), 'rgba.png');
    expect(values(rgba.data)).toEqual([0.587]);
  });

  it('reads from a path, and refuses a corrupt PNG naming the file', () => {
    const file = path.join(dir, 'ok.png');
    writeFileSync(file, encode(1, 1, 0, 8, [255]));
    expect(Array.from(readPngImage(file).data)).toEqual([1]);
    const good = encode(4, 4, 0, 8, new Array<number>(16).fill(9));
    const broken = path.join(dir, 'broken.png');
    writeFileSync(broken, good.subarray(0, 40));
    expect(() => readPngImage(broken)).toThrow(ImageReadError);
    expect(() => readPngImage(broken)).toThrow(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot decode PNG: `));
  });

  it('decodeImage sniffs the format from the bytes, not the name', () => {
    expect(decodeImage(encode(1, 1, 0, 8, [0]), 'looks-like.dcm').meta.format).toBe('png');
    expect(() => decodeImage(Buffer.from('hello'), 'x.png')).toThrow('x.png: neither DICOM (no "DICM" at byte 128) nor PNG (no PNG signature)');
    expect(() => decodeImage(Buffer.alloc(0), 'empty.png')).toThrow(/: empty file$/);
  });
});
