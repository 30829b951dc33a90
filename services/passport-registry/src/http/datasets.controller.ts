import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Dataset } from '@fedledger/ledger-host';
import { RegistryLedger } from '../ledger/registry-ledger';
import { parseRequest } from '@fedledger/service-kit';
import { ledgerCall } from './ledger-errors';

const checkQuery = z.object({ subject: z.string().min(1), purpose: z.string().min(1) }).strict();

/** Reads of the centres' datasets and grants; registering, granting and revoking go through /transactions. */
@ApiTags('datasets')
@Controller('datasets')
export class DatasetsController {
  constructor(private readonly ledger: RegistryLedger) {}

  @Get(':id')
  @ApiOperation({ summary: 'A dataset with its owner, usage policy and grants' })
  @ApiResponse({ status: 404, description: 'no such dataset' })
  async get(@Param('id') id: string): Promise<Dataset> {
    return ledgerCall(() => this.ledger.evaluate<Dataset>('dataset:Read', [id]));
  }

  @Get(':id/check')
  @ApiOperation({ summary: 'Is a grant to train `subject` (a passport or experiment) on this dataset for `purpose` live now?' })
  async check(@Param('id') id: string, @Query() query: unknown): Promise<unknown> {
    const q = parseRequest(checkQuery, query, 'query');
    return ledgerCall(() => this.ledger.evaluate('dataset:CheckGrant', [id, q.subject, q.purpose]));
  }
}
