export * from './assembler';
export { wasmModuleSource, writeOrCheckWasmModule, type WasmModuleFile } from './module-file';
