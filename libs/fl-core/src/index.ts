export {
  allocateWeights,
  decodeWeights,
  encodeWeights,
  WEIGHTS_ALIGNMENT,
  WEIGHTS_MAGIC,
  WEIGHTS_MEDIA_TYPE,
  WeightFormatError,
  type WeightTensor,
} from './weight-format';
export * from './strategies';
export { kernelsAvailable } from './kernels/runtime';
