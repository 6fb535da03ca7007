import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routeLabelOf } from '../http/route-label.js';
import { idempotencyReportOf } from '../idempotency/idempotency-reports.js';
import { eventDuplicatesDropped, type EventDuplicateDropped } from './event-duplicates.channel.js';
import { gatewayCalls, type GatewayCallEvent } from './gateway-calls.channel.js';
import { eventsConsumed, eventsDeadLettered, type ConsumerEvent } from './consumers.channel.js';
import { outboxObserved, type OutboxObserved } from './outbox.channel.js';
import { openOrdersObserved, ordersReconciled, type OpenOrdersObserved, type OrderReconciled } from './reconciler.channel.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus metrics, in a registry of its own (no global state between apps). Its own
 * metrics share the prefix `payments_`; the generic HTTP and process metrics keep their usual names.
 * Counters only, no ratios: a ratio over the process's lifetime hides what happens now, so dashboards derive
 * them with rate() (docs/operations.md, Metrics).
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly idempotencyOutcomes = new Counter({
    name: 'payments_idempotency_requests_total',
    help: 'Requests of idempotent routes by outcome: fresh, replay, conflict, mismatch, store_unavailable',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });

  private readonly lockWait = new Histogram({
    name: 'payments_idempotency_lock_wait_seconds',
    help: 'Time to get the lock or the stored outcome (wait mode included)',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly lockHold = new Histogram({
    name: 'payments_idempotency_lock_hold_seconds',
    help: 'Time the lock was held: the operation and storing its outcome',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly gatewayCallCount = new Counter({
    name: 'payments_gateway_calls_total',
    help: 'Calls to the payment gateway by result',
    labelNames: ['result'],
    registers: [this.registry],
  });

  private readonly gatewayLatency = new Histogram({
    name: 'payments_gateway_call_duration_seconds',
    help: 'Payment gateway call duration by result',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly duplicatesDropped = new Counter({
    name: 'payments_events_duplicates_dropped_total',
    help: 'Events consumed before and dropped without effect, by source: broker (payment events delivered again) or webhook',
    labelNames: ['source'],
    registers: [this.registry],
  });

  private readonly reconciled = new Counter({
    name: 'payments_orders_reconciled_total',
    help: 'Orders nobody finished that the reconciler settled, by result: paid (the gateway had charged) or abandoned',
    labelNames: ['result'],
    registers: [this.registry],
  });

  /** When the oldest CREATED order's attempt began, as the last sweep of this process's reconciler saw it. */
  private oldestOpenBeganAt?: number;

  private readonly consumed = new Counter({
    name: 'payments_events_consumed_total',
    help: 'Payment events whose effect a consumer applied (once per event), by consumer',
    labelNames: ['consumer'],
    registers: [this.registry],
  });

  private readonly deadLettered = new Counter({
    name: 'payments_events_dead_lettered_total',
    help: 'Payment events a consumer gave up on after EVENTS_MAX_DELIVERIES deliveries (sent to its dead-letter queue), by consumer',
    labelNames: ['consumer'],
    registers: [this.registry],
  });

  private readonly onEventConsumed = (message: unknown) => {
    this.consumed.inc({ consumer: (message as ConsumerEvent).consumer });
  };

  private readonly onEventDeadLettered = (message: unknown) => {
    this.deadLettered.inc({ consumer: (message as ConsumerEvent).consumer });
  };

  /** When the oldest event waiting in the outbox was written, as this process's relay last saw it. */
  private oldestUnpublishedAt?: number;

  private readonly onOutboxObserved = (message: unknown) => {
    this.oldestUnpublishedAt = (message as OutboxObserved).oldestUnpublishedAt;
  };

  private readonly onOrderReconciled = (message: unknown) => {
    this.reconciled.inc({ result: (message as OrderReconciled).result });
  };

  private readonly onOpenOrdersObserved = (message: unknown) => {
    this.oldestOpenBeganAt = (message as OpenOrdersObserved).oldestBeganAt;
  };

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
    const oldestBeganAt = () => this.oldestOpenBeganAt;
    new Gauge({
      name: 'payments_orders_created_oldest_age_seconds',
      help: 'Age of the oldest CREATED order (since its attempt began), as the last reconciler sweep saw it; 0 when none is open',
      registers: [this.registry],
      collect() {
        const began = oldestBeganAt();
        this.set(began === undefined ? 0 : Math.max(0, (Date.now() - began) / 1000));
      },
    });
    const oldestUnpublishedAt = () => this.oldestUnpublishedAt;
    new Gauge({
      name: 'payments_outbox_lag_seconds',
      help: 'Age of the oldest payment event not yet published to the broker, as the last relay round saw it; 0 when none waits',
      registers: [this.registry],
      collect() {
        const oldest = oldestUnpublishedAt();
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
    gatewayCalls.subscribe(this.onGatewayCall);
    outboxObserved.subscribe(this.onOutboxObserved);
    eventsConsumed.subscribe(this.onEventConsumed);
    eventsDeadLettered.subscribe(this.onEventDeadLettered);
    eventDuplicatesDropped.subscribe(this.onDuplicateDropped);
    ordersReconciled.subscribe(this.onOrderReconciled);
    openOrdersObserved.subscribe(this.onOpenOrdersObserved);
  }

  /** Not onModuleDestroy: the instance still serves, and calls the gateway, while it drains. */
  onApplicationShutdown(): void {
    gatewayCalls.unsubscribe(this.onGatewayCall);
    eventDuplicatesDropped.unsubscribe(this.onDuplicateDropped);
    ordersReconciled.unsubscribe(this.onOrderReconciled);
    openOrdersObserved.unsubscribe(this.onOpenOrdersObserved);
    outboxObserved.unsubscribe(this.onOutboxObserved);
    eventsConsumed.unsubscribe(this.onEventConsumed);
    eventsDeadLettered.unsubscribe(this.onEventDeadLettered);
  }

  /** Middleware (Node's request and response on both adapters): observes every response once it is finished, whatever answered it. */
  readonly recordRequests = (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const started = performance.now();
    response.once('finish', () => {
      const route = routeLabelOf(request);
      this.httpDuration.observe({ method: request.method ?? '', route, status_code: String(response.statusCode) }, (performance.now() - started) / 1000);
      const report = idempotencyReportOf(request);
      if (!report) return;
      this.idempotencyOutcomes.inc({ route, outcome: report.outcome });
      this.lockWait.observe({ route }, report.lockWaitMs / 1000);
      if (report.lockHoldMs !== undefined) this.lockHold.observe({ route }, report.lockHoldMs / 1000);
    });
    next();
  };
}
