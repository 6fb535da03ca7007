import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/index.js';
import { ApiProblemResponses } from '../common/openapi.js';
import { CleanupReport, CleanupService } from './cleanup.service.js';

@ApiTags('admin')
@ApiSecurity('admin-token')
@ApiProblemResponses(401)
@Controller('admin')
@AdminOnly()
export class CleanupController {
  constructor(private readonly cleanup: CleanupService) {}

  @Post('cleanup')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'cleanUp',
    summary: 'Remove expired stored outcomes, and published events and consumed markers past their retention, now; orders and payments stay',
  })
  @ApiOkResponse({ type: CleanupReport })
  @ApiProblemResponses(503)
  run(): Promise<CleanupReport> {
    return this.cleanup.removeExpired();
  }
}
