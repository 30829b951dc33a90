import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { canonicalBytes, type Proposal, type SignedProposal } from '@fedledger/ledger';
import { parseResult, RegistryLedger } from '../ledger/registry-ledger';
import { parseRequest } from '@fedledger/service-kit';
import { ledgerCall } from './ledger-errors';

const TX_NAME = /^(passport|dataset):[A-Z][A-Za-z]+$/;
const creator = z.object({ mspId: z.string().min(1).max(200), certPem: z.string().min(1).max(20_000).includes('BEGIN CERTIFICATE', { message: 'expected a PEM certificate' }) });
const prepareBody = z.object({
  txName: z.string().regex(TX_NAME, "expected 'passport:<Name>' or 'dataset:<Name>'"),
  args: z.array(z.string().max(1_000_000)).max(16),
  creator,
});
const proposal = z.object({
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  txName: z.string().regex(TX_NAME, "expected 'passport:<Name>' or 'dataset:<Name>'"),
  args: z.array(z.string()),
  creator,
  nonce: z.string().min(1),
  timestamp: z.string().datetime({ message: 'expected an ISO 8601 time' }),
});
const signedBody = z.object({ proposal, signature: z.string().regex(/^[A-Za-z0-9+/]+=*$/, 'expected base64') });
const jsonSchema = (schema: z.ZodTypeAny) => zodToJsonSchema(schema, { target: 'openApi3' }) as Record<string, unknown>;

/**
 * Transactions signed by their authors: the registry prepares a proposal, the caller signs its canonical bytes
 * with its own enrolment key (the CLI does so locally) and submits it; the ledger checks the signature against
 * the caller's MSP, so the registry relays authorship and cannot forge it.
 */
@ApiTags('transactions')
@Controller('transactions')
export class TransactionsController {
  constructor(private readonly ledger: RegistryLedger) {}

  @Post('prepare')
  @HttpCode(200)
  @ApiOperation({ summary: 'Prepare the proposal of a transaction for its author to sign (returns it and the bytes to sign)' })
  @ApiBody({ schema: jsonSchema(prepareBody) })
  @ApiResponse({ status: 400, description: 'a field is missing or malformed; the message names it' })
  prepare(@Body() body: unknown): { proposal: Proposal; bytesToSign: string; signatureAlgorithm: string } {
    const { txName, args, creator: who } = parseRequest(prepareBody, body, 'body');
    const prepared = this.ledger.prepare(who, txName, args);
    return { proposal: prepared, bytesToSign: canonicalBytes(prepared).toString('base64'), signatureAlgorithm: 'ECDSA with SHA-256, DER, base64' };
  }

  @Post('submit')
  @HttpCode(200)
  @ApiOperation({ summary: 'Submit a signed proposal: endorsed, ordered into a block and committed; answers with the tx id, block and result' })
  @ApiBody({ schema: jsonSchema(signedBody) })
  @ApiResponse({ status: 401, description: 'the signature or the certificate is not valid for a member of the ledger' })
  @ApiResponse({ status: 403, description: 'the chaincode refused the caller (not the owner, wrong role)' })
  @ApiResponse({ status: 409, description: 'a version or round conflict, or the transaction is already on the ledger' })
  async submit(@Body() body: unknown): Promise<{ txId: string; blockNumber: number; result: unknown }> {
    const signed = parseRequest(signedBody, body, 'body') as SignedProposal;
    const { txId, blockNumber, result } = await ledgerCall(() => this.ledger.submitSigned(signed));
    return { txId, blockNumber, result: parseResult(result) };
  }

  @Post('evaluate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Evaluate a signed proposal against the committed state (nothing is ordered)' })
  @ApiBody({ schema: jsonSchema(signedBody) })
  async evaluate(@Body() body: unknown): Promise<{ result: unknown }> {
    const signed = parseRequest(signedBody, body, 'body') as SignedProposal;
    return { result: parseResult(await ledgerCall(() => this.ledger.evaluateSigned(signed))) };
  }
}
