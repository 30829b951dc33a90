import { BadRequestException, Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { LEDGER_ID } from '@fedledger/contracts';
import { auditPassport, collectionsOf, verifyCache, type AuditResult, type VerifyResult } from '@fedledger/ledger-index';
import { IndexerRunner } from '../index/indexer-runner';

/** The cache checked against the ledger. */
@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly runner: IndexerRunner) {}

  @Get('passports/:id')
  @ApiOperation({ summary: 'One passport of the cache against the ledger: every version and round digest; says where they differ' })
  @ApiResponse({ status: 400, description: 'the id is not a passport id' })
  @ApiResponse({ status: 404, description: 'neither the cache nor the ledger has such a passport' })
  async passport(@Param('id') id: string): Promise<AuditResult> {
    // Not an id the chaincode takes: the caller's mistake (400), refused before the ledger's refusal would become a 500.
    if (!LEDGER_ID.test(id)) {
      throw new BadRequestException({ statusCode: 400, message: "invalid path: id must be a passport id (letters, digits, '.', '_', '-', starting with a letter or digit; at most 128 characters)" });
    }
    const { ledger, reader } = this.runner.ledgerAndReader;
    const result = await auditPassport(this.runner.db, ledger, reader, id);
    // Nothing on the ledger and nothing in the cache: an unknown id, not a difference between the two.
    if (result.checked.versions === 0 && !(await this.cacheHasAnyOf(id))) throw new NotFoundException({ statusCode: 404, message: `neither the cache nor the ledger has passport ${id}` });
    return result;
  }

  @Get()
  @ApiOperation({ summary: 'The whole cache against the ledger (passports, versions, rounds, datasets, grants)' })
  async all(): Promise<VerifyResult> {
    const { ledger, reader } = this.runner.ledgerAndReader;
    return verifyCache(this.runner.db, ledger, reader);
  }

  /** Whether the cache holds anything of the passport: its current version, its first version or its first round (by `_id`). */
  private async cacheHasAnyOf(id: string): Promise<boolean> {
    const c = collectionsOf(this.runner.db);
    for (const [collection, key] of [[c.passports, id], [c.versions, `${id}@1`], [c.rounds, `${id}#1`]] as const) {
      if (await collection.findOne({ _id: key }, { projection: { _id: 1 } })) return true;
    }
    return false;
  }
}
