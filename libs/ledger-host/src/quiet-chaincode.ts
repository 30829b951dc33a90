/**
 * fabric-contract-api and fabric-shim log through winston to stdout, at info by default (every decorator
 * as the chaincode loads, every refused transaction at error): in a peer that is the container's log,
 * in-process it would be mixed into a command's output. Every refusal reaches the caller as a LedgerError
 * anyway, so the host quiets them unless CORE_CHAINCODE_LOGGING_LEVEL says otherwise. Imported before the
 * chaincode; the loggers already created (fabric-contract-api may be loaded before this) are set too.
 */
import { setLevel as setContractApiLevel } from 'fabric-contract-api/lib/logger';
import { setLevel as setShimLevel } from 'fabric-shim/lib/logger';

const QUIET = 'CRITICAL';

if (process.env.CORE_CHAINCODE_LOGGING_LEVEL === undefined) {
  setContractApiLevel(QUIET);
  setShimLevel(QUIET);
  // setLevel leaves winston's name for the level in the variable, which the loggers created later do not read.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = QUIET;
}
