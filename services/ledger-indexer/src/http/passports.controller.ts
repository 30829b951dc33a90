import { Controller, Get, Header, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { passportTimeline, timelineHtml, type Timeline } from '@fedledger/ledger-index';
import { parseRequest } from '@fedledger/service-kit';
import { IndexerRunner } from '../index/indexer-runner';

const listQuery = z
  .object({
    owner: z.string().min(1).optional(),
    status: z.enum(['DRAFT', 'ACTIVE', 'SUSPENDED', 'DEPRECATED', 'REVOKED']).optional(),
    dataset: z.string().min(1).optional(),
    trainingType: z.enum(['FEDERATED', 'CENTRALISED', 'TRANSFER', 'FINE_TUNED']).optional(),
    q: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    // Bounded: MongoDB takes skip as a 64-bit integer, and `?skip=1e308` must be the caller's 400, not the database's error.
    skip: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  })
  .strict();

/** Audit reads of the passports, from the cache. */
@ApiTags('passports')
@Controller('passports')
export class PassportsController {
  constructor(private readonly runner: IndexerRunner) {}

  @Get()
  @ApiOperation({ summary: 'Passports filtered by owner (MSP id), status, dataset, training type and text in the description' })
  @ApiQuery({ name: 'owner', required: false })
  @ApiQuery({ name: 'status', required: false })
  @ApiQuery({ name: 'dataset', required: false })
  @ApiQuery({ name: 'trainingType', required: false })
  @ApiQuery({ name: 'q', required: false, description: 'words in the description' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'skip', required: false })
  async list(@Query() query: unknown): Promise<{ total: number; passports: Record<string, unknown>[] }> {
    const q = parseRequest(listQuery, query, 'query');
    return (await this.runner.directory()).find({ ...q, ...(q.q ? { text: q.q } : {}) });
  }

  @Get(':id/timeline')
  @ApiOperation({ summary: "One passport's full timeline: versions, rounds with digests and participants, metrics, bias flags and resolutions, grants used" })
  @ApiResponse({ status: 404, description: 'the cache has no such passport' })
  async timeline(@Param('id') id: string): Promise<Timeline> {
    return this.found(id);
  }

  @Get(':id/timeline.html')
  @Header('content-type', 'text/html; charset=utf-8')
  @ApiOperation({ summary: 'The timeline as a readable HTML page' })
  async timelinePage(@Param('id') id: string): Promise<string> {
    return timelineHtml(await this.found(id));
  }

  private async found(id: string): Promise<Timeline> {
    const timeline = await passportTimeline(this.runner.db, id);
    if (!timeline) throw new NotFoundException({ statusCode: 404, message: `the cache has no passport ${id}` });
    return timeline;
  }
}
