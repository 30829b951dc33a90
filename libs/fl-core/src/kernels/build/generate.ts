// Regenerates ../generated/kernels-wasm.ts from the kernel sources (no toolchain: the wasm-kit assembler).
//   node -r ./scripts/register.js libs/fl-core/src/kernels/build/generate.ts          write the file
//   node -r ./scripts/register.js libs/fl-core/src/kernels/build/generate.ts --check  exit 1 if it is stale
import { join } from 'node:path';
import { writeOrCheckWasmModule, type WasmModuleFile } from '@fedledger/wasm-kit';
import { buildKernels } from './kernels-source';

export const KERNELS_FILE: WasmModuleFile = {
  path: join(__dirname, '..', 'generated', 'kernels-wasm.ts'),
  generator: 'libs/fl-core/src/kernels/build/generate.ts',
  exportName: 'KERNELS_WASM_BASE64',
  description: 'The aggregation kernels',
};

if (require.main === module) writeOrCheckWasmModule(KERNELS_FILE, buildKernels(), process.argv);
