import { Body, ConflictException, Controller, Get, HttpCode, NotFoundException, BadRequestException, Param, Post } from '@nestjs/common';
import type { ExperimentState } from '@fedledger/contracts';
import { ExperimentExists, ExperimentNotFound } from '../experiments/experiment.store';
import { InvalidExperimentPlan } from '../experiments/experiment-plan';
import { ExperimentService } from '../experiments/experiment.service';
import { InvalidTransition } from '../experiments/transitions';

/** Experiment control for AI developers: create, start, pause, resume, abort, inspect. */
@Controller('experiments')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentService) {}

  @Post()
  @HttpCode(201)
  async create(@Body() plan: unknown): Promise<ExperimentState> {
    return this.http(() => this.experiments.create(plan));
  }

  @Get()
  async list(): Promise<{ id: string; status: string; round?: number }[]> {
    return this.experiments.list();
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.get(id));
  }

  @Post(':id/start')
  @HttpCode(200)
  async start(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.start(id));
  }

  @Post(':id/pause')
  @HttpCode(200)
  async pause(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.pause(id));
  }

  @Post(':id/resume')
  @HttpCode(200)
  async resume(@Param('id') id: string): Promise<ExperimentState> {
    return this.http(() => this.experiments.resume(id));
  }

  @Post(':id/abort')
  @HttpCode(200)
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
