import { IncompatibleJobError } from '../trainer';
import { tf } from '../tfjs/backend';

/** What a model is built for: the input tensor's shape (without the batch axis) and the number of classes. */
export interface ModelBuildOptions {
  /** [height, width, channels] for image models, [features] for tabular ones. */
  inputShape: number[];
  classes: number;
  /** Seeds every initialiser, so every centre and every run starts from the same weights. */
  seed?: number;
}

/** A model the platform knows how to build: the same layers at every centre, so weights line up by name. */
export interface ModelSpec {
  name: string;
  description: string;
  input: 'image' | 'tabular';
  /** The shape used when the experiment does not give one. */
  defaultInputShape: number[];
  build(options: ModelBuildOptions): tf.LayersModel;
}

const registry = new Map<string, ModelSpec>();

/** Adds a model to the zoo (each model file registers itself; names are unique). */
export function registerModel(spec: ModelSpec): ModelSpec {
  if (registry.has(spec.name)) throw new Error(`model '${spec.name}' is registered twice`);
  registry.set(spec.name, spec);
  return spec;
}

export function modelSpec(name: string): ModelSpec {
  const spec = registry.get(name);
  if (!spec) throw new IncompatibleJobError(`unknown model '${name}' (known: ${[...registry.keys()].join(', ')})`);
  return spec;
}

export function modelNames(): string[] {
  return [...registry.keys()];
}

/** A seeded Glorot-uniform initialiser; `offset` tells the layers of one model apart. */
export function seededGlorot(seed: number | undefined, offset: number): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed: (seed ?? 1) * 1000 + offset });
}
