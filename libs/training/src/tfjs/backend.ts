import * as tf from '@tensorflow/tfjs';
import { registerWasmGradients } from './wasm-gradients';

let ready: Promise<string> | undefined;

/**
 * Picks the fastest TensorFlow.js backend this process has: tfjs-node-gpu or tfjs-node when the
 * container ships them (they bind libtensorflow), else WebAssembly, else plain JS. Once per process.
 */
export function initTfjs(log: (line: string) => void = () => undefined): Promise<string> {
  ready ??= (async () => {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        log(`TensorFlow.js backend from ${pkg}`);
        await tf.ready();
        return tf.getBackend();
      } catch {
        // not installed here; try the next one
      }
    }
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm').catch(() => false)) {
      registerWasmGradients(); // wasm lacks the convolution gradients training needs
      await tf.ready();
      return 'wasm';
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  })();
  return ready;
}

export { tf };
