import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { throwError, type Observable } from 'rxjs';

/**
 * Nest's default RPC filter replaces an error with "Internal server error". For JetStream handlers
 * this one passes the original error back to the transport so the retry log and the dead-letter
 * reason say what failed. HTTP errors (hybrid apps, constructed with the HTTP adapter) keep Nest's
 * usual handling.
 */
@Catch()
export class JetStreamExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}
