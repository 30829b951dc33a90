import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The file of an exported model that holds the federation's final aggregate (FLW1) byte for byte: its sha256 is
 * the artefact digest recorded on the experiment's AI passport, so `fedledger passport verify <id> <dir>` checks it.
 */
export const MODEL_ARTEFACT = 'model.flw';

/**
 * Writes an exported model folder: the aggregate as MODEL_ARTEFACT and, for a zoo model, its TensorFlow.js layers
 * model (model.json + weights.bin) made from it.
 */
export async function writeModelFolder(dir: string, aggregate: Uint8Array, tfjs?: { modelJson: string | Uint8Array; weightsBin: Uint8Array }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MODEL_ARTEFACT), aggregate);
  if (tfjs) {
    await writeFile(path.join(dir, 'model.json'), tfjs.modelJson);
    await writeFile(path.join(dir, 'weights.bin'), tfjs.weightsBin);
  }
}
