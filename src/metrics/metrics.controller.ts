import { Controller, Get, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/index.js';
import { MetricsService } from './metrics.service.js';

/** Prometheus scrape endpoint; counts only, no merchant or key in any label. */
@ApiTags('operations')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** The exposition format the registry writes, under the content type it names (StreamableFile keeps it adapter-neutral). */
  @Get()
  @ApiOperation({ operationId: 'getMetrics', summary: 'Prometheus exposition format' })
  async scrape(): Promise<StreamableFile> {
    const { registry } = this.metrics;
    return new StreamableFile(Buffer.from(await registry.metrics()), { type: registry.contentType });
  }
}
