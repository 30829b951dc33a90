export { DEFAULT_IDENTITY_DIR, DEFAULT_LEDGER_DIR, LedgerHostError, openLocalLedger, type LocalLedgerOptions } from './local-ledger';
