import { Body, ConflictException, Controller, ForbiddenException, Get, HttpCode, NotFoundException, BadRequestException, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { REQUEST_HEADERS } from '@fedledger/identity';
import { parseRequest } from '@fedledger/service-kit';
import { SignedRequestGuard, type Caller, type SignedHttpRequest } from '../auth/signed-request.guard';
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { ExperimentState } from '@fedledger/contracts';
import { experimentPlanSchema } from '../experiments/experiment-plan';
import { ExperimentExists, ExperimentNotFound } from '../experiments/experiment.store';
import { InvalidExperimentPlan } from '../experiments/experiment-plan';
import { ExperimentService, NotAllowed } from '../experiments/experiment.service';
import { InvalidTransition } from '../experiments/transitions';

const abortBody = z.object({ reason: z.string().max(1000).optional() });
const planSchema = zodToJsonSchema(experimentPlanSchema, { target: 'openApi3' }) as Record<string, unknown>;

/** The signer of a write, set by SignedRequestGuard (which refuses unsigned writes before this runs). */
const callerOf = (req: SignedHttpRequest): Caller => {
  if (!req.caller) throw new Error('SignedRequestGuard did not run for a write');
  return req.caller;
};

/**
 * Experiment control for AI developers: create, start, pause, resume, abort, inspect. Writes are signed by the
 * caller's identity (headers below; `fedledger experiment … --as <org>/<user>` signs them); reads are open.
 */
@ApiTags('experiments')
@Controller('experiments')
@UseGuards(SignedRequestGuard)
@ApiHeader({ name: REQUEST_HEADERS.certificate, required: false, description: 'writes: the caller\'s X.509 certificate (PEM, base64)' })
@ApiHeader({ name: REQUEST_HEADERS.timestamp, required: false, description: 'writes: milliseconds since the epoch, within 5 minutes of the server' })
@ApiHeader({ name: REQUEST_HEADERS.signature, required: false, description: 'writes: ECDSA P-256 SHA-256 signature (DER, base64) of "fedledger/request/v1\\n<METHOD>\\n<path>\\n<timestamp>\\n<sha256 hex of body>"' })
@ApiResponse({ status: 401, description: 'a write is unsigned, signed by an identity not known here, too old, or replayed' })
@ApiResponse({ status: 403, description: 'the signer may not do this (role, or not the experiment\'s creator)' })
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an experiment from its plan (model, initial weights, strategy, rounds, centres, quorum, deadline)' })
  @ApiBody({ schema: planSchema })
  @ApiResponse({ status: 201, description: 'the stored experiment state' })
  @ApiResponse({ status: 400, description: 'the plan is invalid; `problems` names each field and why' })
  @ApiResponse({ status: 409, description: 'an experiment with this id exists' })
  async create(@Body() plan: unknown, @Req() req: SignedHttpRequest): Promise<ExperimentState> {
    return this.http(() => this.experiments.create(plan, callerOf(req)));
  }

  @Get()
  @ApiOperation({ summary: 'List experiments with their status and current round' })
  async list(): Promise<{ id: string; status: string; round?: number }[]> {
    return this.experiments.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'Inspect an experiment: plan, status, round in progress, completed rounds with aggregate digests' })
  @ApiResponse({ status: 404, description: 'no such experiment' })
  async get(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.get(id));
  }

  @Post(':id/start')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start a created experiment: round 1 is dispatched' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async start(@Param('id') id: string, @Req() req: SignedHttpRequest): Promise<ExperimentState> {
    return this.http(() => this.experiments.start(id, callerOf(req)));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause: no new round starts; the deadline stops counting' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async pause(@Param('id') id: string, @Req() req: SignedHttpRequest): Promise<ExperimentState> {
    return this.http(() => this.experiments.pause(id, callerOf(req)));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused experiment; the round in progress gets a fresh deadline' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async resume(@Param('id') id: string, @Req() req: SignedHttpRequest): Promise<ExperimentState> {
    return this.http(() => this.experiments.resume(id, callerOf(req)));
  }

  @Post(':id/abort')
  @HttpCode(200)
  @ApiOperation({ summary: 'Abort an experiment for good, with an optional reason' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async abort(@Param('id') id: string, @Body() body: unknown, @Req() req: SignedHttpRequest): Promise<ExperimentState> {
    const { reason } = parseRequest(abortBody, body ?? {}, 'body');
    return this.http(() => this.experiments.abort(id, callerOf(req), reason ?? 'aborted by request'));
  }

  /** Domain errors become the HTTP status a client can act on. */
  private async http<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ExperimentNotFound) throw new NotFoundException(err.message);
      if (err instanceof NotAllowed) throw new ForbiddenException(err.message);
      if (err instanceof InvalidExperimentPlan) throw new BadRequestException({ message: err.message, problems: err.problems });
      if (err instanceof InvalidTransition || err instanceof ExperimentExists) throw new ConflictException(err.message);
      throw err;
    }
  }
}
