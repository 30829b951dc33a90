export { BLOCK_FILE, BlockFile, LedgerBusyError, WRITER_LOCK, makeBlock, GENESIS_PREVIOUS_HASH, verifyChain, type Block, type BlockTransaction, type KeyVersion, type ReadSet, type ValidationCode, type VerifyResult, type WriteSet } from './blocks';
export { EmbeddedLedger, type EmbeddedLedgerOptions, type Endorsement } from './embedded-ledger';
export { FabricLedger, type FabricLedgerOptions } from './fabric-ledger';
export {
  checkGrant,
  checkProposal,
  LedgerError,
  prepareProposal,
  signPrepared,
  signProposal,
  txIdOf,
  type ChaincodeEvent,
  type Checkpoint,
  type GrantAnswer,
  type LedgerGateway,
  type MspDirectory,
  type Proposal,
  type SignedProposal,
  type SigningIdentity,
  type SubmitResult,
} from './ledger-gateway';
export { canonicalBytes } from './canonical';
export { mspDirectoryOf } from './msps';

/** `verify(dir)`: re-checks the block file of a ledger directory and names the first bad block. */
export { verifyChain as verify } from './blocks';
