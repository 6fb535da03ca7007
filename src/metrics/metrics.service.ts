import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routeLabelOf } from '../common/route-label.js';
import { idempotencyReportOf } from '../idempotency/index.js';
import { eventDuplicatesDropped, type EventDuplicateDropped } from './event-duplicates.channel.js';
import { gatewayCalls, type GatewayCallEvent } from './gateway-calls.channel.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The service's Prometheus metrics, in a registry of its own (no global state between apps). */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly idempotencyOutcomes = new Counter({
    name: 'idempotency_requests_total',
    help: 'Requests of idempotent routes by outcome: fresh, replay, conflict, mismatch, store_unavailable',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });

  private readonly lockWait = new Histogram({
    name: 'idempotency_lock_wait_seconds',
    help: 'Time to get the lock or the stored outcome (wait mode included)',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly lockHold = new Histogram({
    name: 'idempotency_lock_hold_seconds',
    help: 'Time the lock was held: the operation and storing its outcome',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly gatewayCallCount = new Counter({
    name: 'gateway_calls_total',
    help: 'Calls to the payment gateway by result',
    labelNames: ['result'],
    registers: [this.registry],
  });

  private readonly gatewayLatency = new Histogram({
    name: 'gateway_call_duration_seconds',
    help: 'Payment gateway call duration by result',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly duplicatesDropped = new Counter({
    name: 'events_duplicates_dropped_total',
    help: 'Events consumed before and dropped without effect, by source: stream (redelivered entries) or webhook',
    labelNames: ['source'],
    registers: [this.registry],
  });

  private readonly onDuplicateDropped = (message: unknown) => {
    this.duplicatesDropped.inc({ source: (message as EventDuplicateDropped).source });
  };

  private readonly onGatewayCall = (message: unknown) => {
    const { result, durationMs } = message as GatewayCallEvent;
    this.gatewayCallCount.inc({ result });
    this.gatewayLatency.observe({ result }, durationMs / 1000);
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const outcomes = this.idempotencyOutcomes;
    new Gauge({
      name: 'idempotency_replay_ratio',
      help: 'Share of replays among the requests of idempotent routes that ran or replayed',
      labelNames: ['route'],
      registers: [this.registry],
      async collect() {
        const counts = new Map<string, { replay: number; fresh: number }>();
        for (const { labels, value } of (await outcomes.get()).values) {
          const route = String(labels.route);
          const count = counts.get(route) ?? { replay: 0, fresh: 0 };
          if (labels.outcome === 'replay' || labels.outcome === 'fresh') count[labels.outcome] += value;
          counts.set(route, count);
        }
        for (const [route, { replay, fresh }] of counts) {
          if (replay + fresh > 0) this.set({ route }, replay / (replay + fresh));
        }
      },
    });
    gatewayCalls.subscribe(this.onGatewayCall);
    eventDuplicatesDropped.subscribe(this.onDuplicateDropped);
  }

  /** Not onModuleDestroy: the instance still serves, and calls the gateway, while it drains. */
  onApplicationShutdown(): void {
    gatewayCalls.unsubscribe(this.onGatewayCall);
    eventDuplicatesDropped.unsubscribe(this.onDuplicateDropped);
  }

  /** Express middleware: observes every response once it is finished, whatever answered it. */
  readonly recordRequests = (request: Request, response: Response, next: NextFunction): void => {
    const started = performance.now();
    response.once('finish', () => {
      const route = routeLabelOf(response);
      this.httpDuration.observe({ method: request.method, route, status: String(response.statusCode) }, (performance.now() - started) / 1000);
      const report = idempotencyReportOf(response);
      if (!report) return;
      this.idempotencyOutcomes.inc({ route, outcome: report.outcome });
      if (report.lockWaitMs !== undefined) this.lockWait.observe({ route }, report.lockWaitMs / 1000);
      if (report.lockHoldMs !== undefined) this.lockHold.observe({ route }, report.lockHoldMs / 1000);
    });
    next();
  };
}
