import { Global, Injectable, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/index.js';
import { ProblemException } from '../common/problem.js';
import { sendProblem } from '../common/problem-details.filter.js';

/**
 * On SIGTERM (enableShutdownHooks) NestJS runs the destroy hooks (this one: the phases below), then
 * the before-shutdown hooks (the events worker and webhook deliveries stop), then closes the HTTP
 * server and runs the shutdown hooks that close Redis and PostgreSQL. The destroy hook runs before all the others,
 * whatever the module order, so the instance serves fully until its drain is over. Two phases:
 * 1. Drain, SHUTDOWN_DRAIN_MS: readiness answers 503 at once while every request is still served,
 *    so a balancer that probes every few seconds takes the instance out before it refuses anything.
 * 2. Close: new requests are refused (503, `Connection: close`), keep-alive connections are closed as
 *    soon as they are idle so the server can close at all, and the requests in flight finish, store
 *    their outcomes and release their locks, up to SHUTDOWN_TIMEOUT_MS, after which the remaining
 *    connections are cut.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy {
  private readonly logger = new Logger(GracefulShutdown.name);
  private shutdownBegun = false;
  private refusing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  /** True from the signal on: readiness reports the instance down for the whole shutdown. */
  get shuttingDown(): boolean {
    return this.shutdownBegun;
  }

  /** Middleware for every route: requests that arrive once the drain is over go elsewhere. */
  readonly refuseWhileShuttingDown = (_request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (!this.refusing) return next();
    response.setHeader('Connection', 'close');
    sendProblem(
      response,
      new ProblemException(503, 'SHUTTING_DOWN', 'This instance is shutting down; nothing was done. Retry, with the same key.', {
        headers: { 'Retry-After': '1' },
      }),
    );
  };

  async onModuleDestroy(): Promise<void> {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    this.shutdownBegun = true;
    const drainMs = this.config.SHUTDOWN_DRAIN_MS ?? 0;
    if (drainMs > 0) {
      this.logger.log(`Shutting down: readiness is 503, still serving for ${drainMs} ms (drain)`);
      await sleep(drainMs);
    }
    this.refusing = true;
    this.logger.log(`Shutting down: refusing new requests, finishing those in flight (at most ${this.config.SHUTDOWN_TIMEOUT_MS} ms)`);
    const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      this.logger.warn('Shutdown bound reached: closing the connections still open');
      server.closeAllConnections();
    }, this.config.SHUTDOWN_TIMEOUT_MS);
    closeIdle.unref();
    deadline.unref();
    server.once('close', () => {
      clearInterval(closeIdle);
      clearTimeout(deadline);
    });
  }
}

/** Global, so readiness (HealthModule) sees the shutdown; only the service registers it, not the standalone worker. */
@Global()
@Module({ providers: [GracefulShutdown], exports: [GracefulShutdown] })
export class GracefulShutdownModule {}
