import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Passport, Round } from '@fedledger/ledger-host';
import { RegistryLedger } from '../ledger/registry-ledger';
import { parseRequest } from '@fedledger/service-kit';
import { ledgerCall } from './ledger-errors';

type Page<T> = { records: T[]; bookmark: string; fetchedRecordsCount: number };

const paging = { pageSize: z.coerce.number().int().min(1).max(1000).default(100), bookmark: z.string().default('') };
const listQuery = z
  .object({ owner: z.string().min(1).optional(), clientId: z.string().default(''), dataset: z.string().min(1).optional(), status: z.string().min(1).optional(), ...paging })
  .strict();
const roundsQuery = z.object(paging).strict();
const verifyQuery = z.object({ digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected 'sha256:' and 64 lower-case hex characters") }).strict();

/** Reads of the AI passports (any member may read); writes go through /transactions, signed by their authors. */
@ApiTags('passports')
@Controller('passports')
export class PassportsController {
  constructor(private readonly ledger: RegistryLedger) {}

  @Get()
  @ApiOperation({ summary: 'Passports by owner (MSP id, optionally a client id), by dataset or by status, a page at a time' })
  @ApiQuery({ name: 'owner', required: false, description: 'MSP id of the owner' })
  @ApiQuery({ name: 'dataset', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['DRAFT', 'ACTIVE', 'SUSPENDED', 'DEPRECATED', 'REVOKED'] })
  @ApiQuery({ name: 'pageSize', required: false })
  @ApiQuery({ name: 'bookmark', required: false })
  async list(@Query() query: unknown): Promise<Page<Passport>> {
    const q = parseRequest(listQuery, query, 'query');
    const given = [q.owner, q.dataset, q.status].filter((v) => v !== undefined).length;
    if (given !== 1) throw new BadRequestException({ statusCode: 400, message: 'give exactly one of owner, dataset and status' });
    const page = [String(q.pageSize), q.bookmark];
    return ledgerCall(() =>
      q.owner !== undefined
        ? this.ledger.evaluate<Page<Passport>>('passport:QueryByOwner', [q.owner, q.clientId, ...page])
        : q.dataset !== undefined
          ? this.ledger.evaluate<Page<Passport>>('passport:QueryByDataset', [q.dataset, ...page])
          : this.ledger.evaluate<Page<Passport>>('passport:QueryByStatus', [q.status!, ...page]),
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'The current version of a passport' })
  @ApiResponse({ status: 404, description: 'no such passport' })
  async get(@Param('id') id: string): Promise<Passport> {
    return ledgerCall(() => this.ledger.evaluate<Passport>('passport:Read', [id]));
  }

  @Get(':id/history')
  @ApiOperation({ summary: 'Every version of a passport with the transaction id and time that wrote it' })
  async history(@Param('id') id: string): Promise<unknown> {
    return ledgerCall(() => this.ledger.evaluate('passport:History', [id]));
  }

  @Get(':id/rounds')
  @ApiOperation({ summary: 'The federated rounds of a passport in order: a hash chain (each round carries the digest of the one before)' })
  async rounds(@Param('id') id: string, @Query() query: unknown): Promise<Page<Round>> {
    const q = parseRequest(roundsQuery, query, 'query');
    return ledgerCall(() => this.ledger.evaluate<Page<Round>>('passport:ListRounds', [id, String(q.pageSize), q.bookmark]));
  }

  @Get(':id/rounds/:n')
  @ApiOperation({ summary: 'One round of a passport' })
  async round(@Param('id') id: string, @Param('n') n: string): Promise<Round> {
    return ledgerCall(() => this.ledger.evaluate<Round>('passport:ReadRound', [id, n]));
  }

  @Get(':id/verify')
  @ApiOperation({ summary: 'Does a model digest match the released artefact recorded on the passport?' })
  async verify(@Param('id') id: string, @Query() query: unknown): Promise<unknown> {
    const q = parseRequest(verifyQuery, query, 'query');
    return ledgerCall(() => this.ledger.evaluate('passport:VerifyArtifact', [id, q.digest]));
  }
}
