import { Body, ConflictException, Controller, Get, HttpCode, NotFoundException, BadRequestException, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { ExperimentState } from '@fedledger/contracts';
import { experimentPlanSchema } from '../experiments/experiment-plan';
import { ExperimentExists, ExperimentNotFound } from '../experiments/experiment.store';
import { InvalidExperimentPlan } from '../experiments/experiment-plan';
import { ExperimentService } from '../experiments/experiment.service';
import { InvalidTransition } from '../experiments/transitions';

const planSchema = zodToJsonSchema(experimentPlanSchema, { target: 'openApi3' }) as Record<string, unknown>;

/** Experiment control for AI developers: create, start, pause, resume, abort, inspect. */
@ApiTags('experiments')
@Controller('experiments')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an experiment from its plan (model, initial weights, strategy, rounds, centres, quorum, deadline)' })
  @ApiBody({ schema: planSchema })
  @ApiResponse({ status: 201, description: 'the stored experiment state' })
  @ApiResponse({ status: 400, description: 'the plan is invalid; `problems` names each field and why' })
  @ApiResponse({ status: 409, description: 'an experiment with this id exists' })
  async create(@Body() plan: unknown): Promise<ExperimentState> {
    return this.http(() => this.experiments.create(plan));
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
  async start(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.start(id));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause: no new round starts; the deadline stops counting' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async pause(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.pause(id));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused experiment; the round in progress gets a fresh deadline' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async resume(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.resume(id));
  }

  @Post(':id/abort')
  @HttpCode(200)
  @ApiOperation({ summary: 'Abort an experiment for good, with an optional reason' })
  @ApiResponse({ status: 409, description: 'not allowed in the current status' })
  async abort(@Param('id') id: string, @Body() body: { reason?: string } | undefined): Promise<ExperimentState> {
    return this.http(() => this.experiments.abort(id, body?.reason ?? 'aborted by request'));
  }

  /** Domain errors become the HTTP status a client can act on. */
  private async http<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ExperimentNotFound) throw new NotFoundException(err.message);
      if (err instanceof InvalidExperimentPlan) throw new BadRequestException({ message: err.message, problems: err.problems });
      if (err instanceof InvalidTransition || err instanceof ExperimentExists) throw new ConflictException(err.message);
      throw err;
    }
  }
}
