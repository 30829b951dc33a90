import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { ImageReadError, sourceName, type GrayImage } from './image';

/** ITU-R BT.601 luma weights (what PIL's convert('L') uses). */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Reads a PNG (a path, read synchronously, or the file's bytes) into display values in [0, 1]: grey at 1, 2, 4, 8
 * or 16 bits as is (divided by 2^depth − 1), RGB / palette as BT.601 luminance; alpha is ignored. Throws
 * ImageReadError naming the file and the reason.
 */
export function readPngImage(source: string | Uint8Array, name?: string): GrayImage {
  const file = sourceName(source, name);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    const bytes = typeof source === 'string' ? readFileSync(source) : Buffer.from(source.buffer, source.byteOffset, source.length);
    png = PNG.sync.read(bytes, { skipRescale: true });
  } catch (err) {
    throw new ImageReadError(file, `cannot decode PNG: ${(err as Error).message}`);
  }
  const { width, height, depth, palette } = png;
  // pngjs expands every pixel to RGBA: 16-bit data in a Uint16Array, palette entries to 8 bits, other depths as is.
  const samples = png.data as Uint8Array | Uint16Array;
  const bits = palette ? 8 : depth;
  const scale = 1 / (2 ** bits - 1);
  const colour = png.color;
  const data = new Float32Array(width * height);
  if (samples.length < data.length * 4) throw new ImageReadError(file, `decoded ${samples.length} samples for ${width}x${height} RGBA`);
  for (let i = 0, j = 0; i < data.length; i++, j += 4) {
    data[i] = (colour ? LUMA[0] * samples[j]! + LUMA[1] * samples[j + 1]! + LUMA[2] * samples[j + 2]! : samples[j]!) * scale;
  }
  return {
    width,
    height,
    data,
    meta: {
      format: 'png',
      photometric: colour ? 'RGB' : 'MONOCHROME2',
      bitsAllocated: bits,
      bitsStored: bits,
      pixelRepresentation: 0,
      rescaleSlope: 1,
      rescaleIntercept: 0,
      voi: 'none',
    },
  };
}
