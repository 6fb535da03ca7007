import { Controller, Get, Inject } from '@nestjs/common';
import { Public } from '../auth/index.js';
import { ProblemException } from '../common/problem.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';

interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
}

@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(REDIS_CLIENT) private readonly store: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) private readonly lockClients: RedisClient[],
  ) {}

  /** Liveness: the process answers. */
  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the store and every lock node answer a PING. */
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; checks: Record<string, DependencyCheck> }> {
    const named = [['redis', this.store] as const, ...this.lockClients.filter((client) => client !== this.store).map((client, index) => [`lock-${index + 1}`, client] as const)];
    const checks = Object.fromEntries(await Promise.all(named.map(async ([name, client]) => [name, await ping(client)] as const)));
    const down = Object.entries(checks).filter(([, check]) => check.status === 'down');
    if (down.length > 0) {
      throw new ProblemException(503, 'NOT_READY', `Not ready: ${down.map(([name]) => name).join(', ')} unreachable.`);
    }
    return { status: 'ok', checks };
  }
}

async function ping(client: RedisClient): Promise<DependencyCheck> {
  const started = performance.now();
  const status = await client.ping().then(
    () => 'up' as const,
    () => 'down' as const,
  );
  return { status, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
}
