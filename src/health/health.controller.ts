import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import type { Pool } from 'pg';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/index.js';
import { GracefulShutdown } from '../http/graceful-shutdown.js';
import { ApiProblemResponses } from '../common/openapi.js';
import { ProblemException } from '../common/problem.js';
import { AppConfig } from '../config/index.js';
import { DATABASE_POOL } from '../database/database.constants.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';

/**
 * Terminus documents its results only where it can require() @nestjs/swagger, which an ESM-only
 * swagger under jest does not allow: the document would differ between the tests and the service.
 * So its documentation is off and the result is described here, the same everywhere.
 */
const NO_CACHE_WITHOUT_SWAGGER = { noCache: true, swaggerDocumentation: false };
const HEALTH_RESULT = {
  type: 'object',
  required: ['status', 'details'],
  properties: {
    status: { type: 'string', example: 'ok' },
    info: { type: 'object' },
    error: { type: 'object' },
    details: { type: 'object', example: { database: { status: 'up', responseTime: 1 }, redis: { status: 'up', responseTime: 1 } } },
  },
};

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly dependencies: Array<[name: string, client: RedisClient]>;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) store: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) lockClients: RedisClient[],
    @Inject(DATABASE_POOL) private readonly database: Pool,
    // The service's; the standalone worker has none and is ready until it stops.
    @Optional() private readonly shutdown?: GracefulShutdown,
  ) {
    const lockNodes = lockClients.filter((client) => client !== store);
    this.dependencies = [['redis', store], ...lockNodes.map((client, index): [string, RedisClient] => [`lock-node-${index + 1}`, client])];
  }

  /** Age of the oldest event waiting to be published, 0 when none waits; null when the database cannot tell. */
  private async outboxLagSeconds(): Promise<number | null> {
    const lag = await this.database
      .query<{ lag: number }>(`SELECT coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS lag FROM payment_events WHERE published_at IS NULL`)
      .catch(() => undefined);
    return lag ? Math.max(0, Math.round(lag.rows[0]!.lag * 1000) / 1000) : null;
  }

  /** Liveness: the process answers; it depends on nothing else, so an outage of Redis or PostgreSQL does not restart it. */
  @Get()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: HEALTH_RESULT })
  @HealthCheck(NO_CACHE_WITHOUT_SWAGGER)
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Readiness: the instance is not shutting down, PostgreSQL answers a statement, and Redis and
   * every lock node answer a PING, each with its round-trip time; `outbox.lagSeconds` tells how far
   * behind the relay of events is.
   */
  @Get('ready')
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness: not shutting down, and PostgreSQL and Redis answer' })
  @ApiOkResponse({ schema: HEALTH_RESULT })
  @ApiProblemResponses(503)
  @HealthCheck(NO_CACHE_WITHOUT_SWAGGER)
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => (this.shutdown?.shuttingDown ? this.indicators.check('instance').down({ shuttingDown: true }) : this.indicators.check('instance').up()),
        () =>
          this.indicators
            .check('database')
            .attempt(async () => void (await this.database.query('SELECT 1')))
            .withTimeout(this.config.DATABASE_STATEMENT_TIMEOUT_MS),
        // A detail, never a reason to leave the rotation: a broker that is down stops only the relay.
        async () => this.indicators.check('outbox').up({ lagSeconds: await this.outboxLagSeconds() }),
        ...this.dependencies.map(
          ([name, client]) =>
            () =>
              this.indicators
                .check(name)
                .attempt(async () => void (await client.ping()))
                .withTimeout(this.config.REDIS_COMMAND_TIMEOUT_MS),
        ),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      throw new ProblemException(503, 'NOT_READY', `Not ready: ${down.join(', ')} down.`, { extensions: { checks: result.details } });
    }
  }
}
