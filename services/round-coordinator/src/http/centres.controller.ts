import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CentreRegistry, type CentreStatus } from '../centres/centre-registry';

@ApiTags('centres')
@Controller('centres')
export class CentresController {
  constructor(private readonly centres: CentreRegistry) {}

  @Get()
  @ApiOperation({ summary: 'Centres heard from (heartbeats): capabilities, datasets, the task they work on, whether available now' })
  list(): (CentreStatus & { available: boolean })[] {
    return this.centres.list();
  }
}
