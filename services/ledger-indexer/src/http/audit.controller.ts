import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { auditPassport, verifyCache, type AuditResult, type VerifyResult } from '@fedledger/ledger-index';
import { IndexerRunner } from '../index/indexer-runner';

/** The cache checked against the ledger. */
@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly runner: IndexerRunner) {}

  @Get('passports/:id')
  @ApiOperation({ summary: 'One passport of the cache against the ledger: every version and round digest; says where they differ' })
  async passport(@Param('id') id: string): Promise<AuditResult> {
    const { ledger, reader } = this.runner.ledgerAndReader;
    return auditPassport(this.runner.db, ledger, reader, id);
  }

  @Get()
  @ApiOperation({ summary: 'The whole cache against the ledger (passports, versions, rounds, datasets, grants)' })
  async all(): Promise<VerifyResult> {
    const { ledger, reader } = this.runner.ledgerAndReader;
    return verifyCache(this.runner.db, ledger, reader);
  }
}
