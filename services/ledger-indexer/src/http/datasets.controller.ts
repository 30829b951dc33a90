import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { datasetWithGrants, listDatasets } from '@fedledger/ledger-index';
import { IndexerRunner } from '../index/indexer-runner';
import { parseRequest } from '@fedledger/service-kit';

/** `skip` is bounded as for the passports: MongoDB takes it as a 64-bit integer. */
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), skip: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0) }).strict();

/** Datasets with their live and revoked grants, from the cache. */
@ApiTags('datasets')
@Controller('datasets')
export class DatasetsController {
  constructor(private readonly runner: IndexerRunner) {}

  @Get()
  @ApiOperation({ summary: 'Datasets registered by the centres' })
  async list(@Query() query: unknown): Promise<Record<string, unknown>[]> {
    const q = parseRequest(listQuery, query, 'query');
    return listDatasets(this.runner.db, q.limit, q.skip);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A dataset with its live grants and its revoked or expired ones' })
  @ApiResponse({ status: 404, description: 'the cache has no such dataset' })
  async get(@Param('id') id: string): Promise<unknown> {
    const found = await datasetWithGrants(this.runner.db, id);
    if (!found) throw new NotFoundException({ statusCode: 404, message: `the cache has no dataset ${id}` });
    return found;
  }
}
