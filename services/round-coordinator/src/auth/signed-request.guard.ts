import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Inject, Injectable, Logger, UnauthorizedException, type CanActivate, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import { ConfigError } from '@fedledger/config';
import { readOrganisations, REQUEST_MAX_SKEW_MS, RequestSignatureError, verifyRequestSignature, type Signer } from '@fedledger/identity';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import type { RoundCoordinatorConfig } from '../service';

/** Who sent a write to the REST API, as their signature proves. */
export type Caller = Pick<Signer, 'org' | 'mspId' | 'user' | 'type' | 'role'>;

/** The request as the guard leaves it: the raw body (kept by the HTTP layer) and, once checked, the caller. */
export type SignedHttpRequest = IncomingMessage & { method: string; originalUrl: string; rawBody?: Buffer; caller?: Caller };

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every write to the coordinator's REST API is signed by its caller's X.509 identity (libs/identity request
 * signatures): checked against the organisations of IDENTITY_DIR, within five minutes of this clock, and never
 * twice (a signature seen within that window is a replay). Reads are open. Refusals are 401 with the reason.
 */
@Injectable()
export class SignedRequestGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('SignedRequestGuard');
  /** Signatures accepted within the skew window, with when they may be forgotten. */
  private readonly seen = new Map<string, number>();

  constructor(@Inject(SERVICE_CONFIG) private readonly config: RoundCoordinatorConfig) {}

  onModuleInit(): void {
    const dir = path.resolve(this.config.IDENTITY_DIR);
    const problem = !existsSync(dir) ? 'does not exist' : readOrganisations(dir).length === 0 ? 'holds no organisation' : undefined;
    if (problem) {
      throw new ConfigError('round-coordinator', [{ variable: 'IDENTITY_DIR', reason: `${dir} ${problem}: writes to the REST API are signed by identities of these organisations (\`fedledger identity init\`)` }]);
    }
    this.logger.log(`REST writes must be signed by an identity of the organisations in ${dir}`);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<SignedHttpRequest>();
    if (READS.has(req.method)) return true;
    const now = Date.now();
    try {
      const signer = verifyRequestSignature(this.config.IDENTITY_DIR, { method: req.method, path: req.originalUrl, body: req.rawBody ?? Buffer.alloc(0) }, req.headers, now);
      this.forgetOld(now);
      if (this.seen.has(signer.signature)) throw new RequestSignatureError(`request ${req.method} ${req.originalUrl}: this signature was already used (a replay); sign each request anew`);
      this.seen.set(signer.signature, signer.timestampMs + REQUEST_MAX_SKEW_MS);
      req.caller = { org: signer.org, mspId: signer.mspId, user: signer.user, type: signer.type, role: signer.role };
      return true;
    } catch (err) {
      if (err instanceof RequestSignatureError) {
        this.logger.warn(`refused: ${err.message}`);
        throw new UnauthorizedException(err.message);
      }
      throw err;
    }
  }

  private forgetOld(now: number): void {
    for (const [signature, until] of this.seen) if (until < now) this.seen.delete(signature);
  }
}
