export { DEFAULT_IDENTITY_DIR, DEFAULT_LEDGER_DIR, LedgerHostError, openLocalLedger, type LocalLedgerOptions } from './local-ledger';
export { openLedger, openServiceLedger, readFabricConnection, type FabricConnection, type LedgerMode, type OpenLedgerOptions, type ServiceLedgerConfig } from './open-ledger';
/** The chaincode's records, for the clients of the host (which may not import the chaincode themselves). */
export type { Dataset, Grant, Passport, PassportStatus, Round } from '@fedledger/ai-passport-chaincode';
