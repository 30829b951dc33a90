// Regenerates ../generated/gradient-kernels-wasm.ts from kernels-source.ts (no toolchain: the wasm-kit assembler).
//   node -r ./scripts/register.js libs/training/src/tfjs/kernels/build/generate.ts          write the file
//   node -r ./scripts/register.js libs/training/src/tfjs/kernels/build/generate.ts --check  exit 1 if it is stale
import { join } from 'node:path';
import { writeOrCheckWasmModule, type WasmModuleFile } from '@fedledger/wasm-kit';
import { buildGradientKernels } from './kernels-source';

export const GRADIENT_KERNELS_FILE: WasmModuleFile = {
  path: join(__dirname, '..', 'generated', 'gradient-kernels-wasm.ts'),
  generator: 'libs/training/src/tfjs/kernels/build/generate.ts',
  exportName: 'GRADIENT_KERNELS_WASM_BASE64',
  description: "The wasm backend's gradient kernels",
};

if (require.main === module) writeOrCheckWasmModule(GRADIENT_KERNELS_FILE, buildGradientKernels(), process.argv);
