// Importing a model file registers it in the zoo.
export { smallCnn } from './small-cnn';
export { denseTest } from './dense-test';
export { modelNames, modelSpec, registerModel, seededGlorot, type ModelBuildOptions, type ModelSpec } from './zoo';
export { buildModel, CLASSES, initialWeightsOf, modelWeights, setModelWeights } from './weights';
