/**
 * The file of an exported model that holds the federation's final aggregate (FLW1) byte for byte: its sha256 is
 * the artefact digest recorded on the experiment's AI passport, so `fedledger passport verify <id> <dir>` checks it.
 */
export const MODEL_ARTEFACT = 'model.flw';
