// Importing a model file registers it in the zoo.
export { smallCnn } from './small-cnn';
export { modelNames, modelSpec, registerModel, seededGlorot, type ModelBuildOptions, type ModelSpec } from './zoo';
