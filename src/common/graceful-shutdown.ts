import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppConfig } from '../config/index.js';
import { ProblemException } from './problem.js';
import { sendProblem } from './problem-details.filter.js';

/**
 * On SIGTERM (enableShutdownHooks) NestJS closes the HTTP server, then runs the shutdown hooks
 * that close Redis. This runs first: it refuses new requests (503, `Connection: close`), closes
 * keep-alive connections as soon as they are idle so the server can close at all, and lets the
 * requests in flight finish, store their outcomes and release their locks, up to
 * SHUTDOWN_TIMEOUT_MS, after which the remaining connections are cut.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private shuttingDown = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  /** Middleware for every route: requests that arrive during shutdown go elsewhere. */
  readonly refuseWhileShuttingDown = (_request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (!this.shuttingDown) return next();
    response.setHeader('Connection', 'close');
    sendProblem(
      response,
      new ProblemException(503, 'SHUTTING_DOWN', 'This instance is shutting down; nothing was done. Retry, with the same key.', {
        headers: { 'Retry-After': '1' },
      }),
    );
  };

  beforeApplicationShutdown(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    this.shuttingDown = true;
    this.logger.log(`Shutting down: finishing requests in flight (at most ${this.config.SHUTDOWN_TIMEOUT_MS} ms)`);
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
