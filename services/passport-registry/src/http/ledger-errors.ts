import { BadRequestException, ConflictException, ForbiddenException, HttpException, HttpStatus, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { LedgerError } from '@fedledger/ledger';

/** A refusal of the chaincode, by its plain reason: what HTTP status the caller should see. */
function endorsementStatus(message: string): HttpStatus {
  if (/does not exist|has no (round|bias|grant)/.test(message)) return HttpStatus.NOT_FOUND;
  if (/is owned by|needs role|is not an authorised|may only record|only after a round/.test(message)) return HttpStatus.FORBIDDEN;
  if (/already exists|is at version|already (on|RESOLVED|REVOKED)|must be \d+ \(the last round|previousRoundDigest must be|is REVOKED|rounds are added only/.test(message)) return HttpStatus.CONFLICT;
  return HttpStatus.BAD_REQUEST;
}

const EXCEPTIONS: Partial<Record<HttpStatus, new (body: object) => HttpException>> = {
  [HttpStatus.BAD_REQUEST]: BadRequestException,
  [HttpStatus.UNAUTHORIZED]: UnauthorizedException,
  [HttpStatus.FORBIDDEN]: ForbiddenException,
  [HttpStatus.NOT_FOUND]: NotFoundException,
  [HttpStatus.CONFLICT]: ConflictException,
};

/** The HTTP answer for a ledger refusal: the status from its kind, the chaincode's or the ledger's reason as message. */
export function httpError(err: unknown): unknown {
  if (!(err instanceof LedgerError)) return err;
  const status: HttpStatus =
    err.code === 'ENDORSEMENT_FAILURE'
      ? endorsementStatus(err.message)
      : err.code === 'BAD_PROPOSAL'
        ? HttpStatus.UNAUTHORIZED
        : err.code === 'MVCC_READ_CONFLICT' || err.code === 'DUPLICATE_TXID'
          ? HttpStatus.CONFLICT
          : err.code === 'NOT_SUPPORTED'
            ? HttpStatus.NOT_IMPLEMENTED
            : HttpStatus.SERVICE_UNAVAILABLE;
  const body = { statusCode: status, code: err.code, message: err.message };
  const Exception = EXCEPTIONS[status];
  return Exception ? new Exception(body) : new HttpException(body, status);
}

/** Runs a ledger call, answering its refusals with the matching 4xx (or 503) and the reason. */
export async function ledgerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw httpError(err);
  }
}
