import { createHash } from 'node:crypto';
import type { WeightTensor } from '@fedledger/fl-core';
import { buildModel, setModelWeights } from '../models';
import { initTfjs, tf } from './backend';

export interface TfjsModelFiles {
  /** model.json: topology + weights manifest pointing at weights.bin (tf.loadLayersModel reads it). */
  modelJson: string;
  weightsBin: Uint8Array;
  /** SHA-256 of weights.bin and of model.json, lower-case hex. */
  weightsSha256: string;
  modelJsonSha256: string;
}

/** The trained weights as a TensorFlow.js layers model (model.json + weights.bin), with digests; `inputShape` as the experiment's data spec says. */
export async function exportTfjsModel(modelName: string, weights: readonly WeightTensor[], inputShape?: readonly number[]): Promise<TfjsModelFiles> {
  await initTfjs();
  const model = buildModel(modelName, inputShape);
  try {
    setModelWeights(model, weights);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('TensorFlow.js produced no weights');
    const data = artifacts.weightData;
    const weightsBin = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(Buffer.concat(data.map((b) => new Uint8Array(b))));
    const modelJson = JSON.stringify(
      {
        format: 'layers-model',
        generatedBy: `TensorFlow.js v${tf.version.tfjs}`,
        convertedBy: 'fedledger',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      },
      null,
      1,
    );
    const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
    return { modelJson, weightsBin, weightsSha256: sha(weightsBin), modelJsonSha256: sha(modelJson) };
  } finally {
    model.dispose();
  }
}
