import { decodeWeights, encodeWeights, WeightFormatError, type WeightTensor } from '../weight-format';
import { optimiserStateTensors, type OptimiserState } from './server-optimisers';

/**
 * Optimiser state as an FLW1 blob (so it is stored, hashed and referenced like any weights blob, media type
 * WEIGHTS_MEDIA_TYPE). Tensors, in this order, each flat (shape [length]) except the scalar round:
 *
 *   <kind>/round          shape []   the round whose step produced the state (float32: exact up to 2^24)
 *   fedavgm:    fedavgm/momentum/<i>
 *   fedadam:    fedadam/m/<i> …, then fedadam/v/<i> …
 *   fedyogi:    fedyogi/m/<i> …, then fedyogi/v/<i> …
 *   fedadagrad: fedadagrad/v/<i>
 *
 * where <i> = 0, 1, … is the tensor's index in the model. Decoding returns views on the blob (no copy);
 * the step functions never write to their state.
 */

const MAX_ROUND = 2 ** 24;
const FIELDS: Record<OptimiserState['kind'], readonly string[]> = {
  fedavgm: ['momentum'],
  fedadam: ['m', 'v'],
  fedyogi: ['m', 'v'],
  fedadagrad: ['v'],
};

export function encodeOptimiserState(state: OptimiserState): Uint8Array {
  const names = FIELDS[state.kind];
  if (names === undefined) throw new WeightFormatError(`cannot encode optimiser state of unknown kind '${String(state.kind)}'`);
  if (!Number.isSafeInteger(state.round) || state.round < 1 || state.round > MAX_ROUND) {
    throw new WeightFormatError(`optimiser state round must be an integer in 1..${MAX_ROUND}, got ${state.round}`);
  }
  const tensors: WeightTensor[] = [{ name: `${state.kind}/round`, shape: [], data: new Float32Array([state.round]) }];
  optimiserStateTensors(state).forEach((field, f) => {
    field.forEach((data, i) => tensors.push({ name: `${state.kind}/${names[f]}/${i}`, shape: [data.length], data }));
  });
  return encodeWeights(tensors);
}

export function decodeOptimiserState(bytes: Uint8Array): OptimiserState {
  const tensors = decodeWeights(bytes);
  function fail(reason: string): never {
    throw new WeightFormatError(`FLW1 blob is not an optimiser state: ${reason}`);
  }
  const first = tensors[0]?.name ?? '';
  const kind = first.slice(0, first.indexOf('/')) as OptimiserState['kind'];
  const names = Object.prototype.hasOwnProperty.call(FIELDS, kind) ? FIELDS[kind] : undefined;
  if (names === undefined || first !== `${kind}/round` || tensors[0].data.length !== 1) {
    return fail(`first tensor must be '<kind>/round' with kind one of ${Object.keys(FIELDS).join(', ')}, got '${first}'`);
  }
  const round = tensors[0].data[0];
  if (!Number.isInteger(round) || round < 1) fail(`round is ${round}`);
  const rest = tensors.slice(1);
  const perField = rest.length / names.length;
  if (!Number.isInteger(perField)) fail(`${rest.length} tensors cannot be split evenly into ${names.join(', ')}`);
  const fields = names.map((field, f) =>
    rest.slice(f * perField, (f + 1) * perField).map((t, i) => {
      const expected = `${kind}/${field}/${i}`;
      if (t.name !== expected) fail(`expected tensor '${expected}', got '${t.name}'`);
      return t.data;
    }),
  );
  for (let i = 0; i < perField; i++) {
    if (fields.some((f) => f[i].length !== fields[0][i].length)) fail(`tensor #${i} has different lengths in ${names.join(' and ')}`);
  }
  switch (kind) {
    case 'fedavgm':
      return { kind, round, momentum: fields[0] };
    case 'fedadam':
    case 'fedyogi':
      return { kind, round, m: fields[0], v: fields[1] };
    case 'fedadagrad':
      return { kind, round, v: fields[0] };
  }
}
