import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/index.js';
import { GracefulShutdown } from '../common/graceful-shutdown.js';
import { ProblemException } from '../common/problem.js';
import { AppConfig } from '../config/index.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';

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
    // The service's; the standalone worker has none and is ready until it stops.
    @Optional() private readonly shutdown?: GracefulShutdown,
  ) {
    const lockNodes = lockClients.filter((client) => client !== store);
    this.dependencies = [['redis', store], ...lockNodes.map((client, index): [string, RedisClient] => [`lock-node-${index + 1}`, client])];
  }

  /** Liveness: the process answers; it depends on nothing else, so a Redis outage does not restart it. */
  @Get()
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Readiness: the instance is not shutting down, and the store and every lock node answer a PING,
   * each with its round-trip time.
   */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => (this.shutdown?.shuttingDown ? this.indicators.check('instance').down({ shuttingDown: true }) : this.indicators.check('instance').up()),
        ...this.dependencies.map(([name, client]) => () =>
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
