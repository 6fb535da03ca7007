import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/index.js';
import { Database, type Statement } from '../database/database.js';
import { eventDuplicatesDropped } from '../metrics/event-duplicates.channel.js';
import type { PaymentEvent } from './payment-event.js';
import { ProjectionsRepository } from './projections.repository.js';

const BATCH_SIZE = 100;
const RETRY_DELAY_MS = 500;

/**
 * The oldest unpublished events, locked by this transaction: rows another worker's transaction
 * holds are skipped rather than waited for, so several workers share the outbox without ever
 * taking one event twice at a time.
 */
const TAKE_UNPUBLISHED: Statement = {
  name: 'events-take-unpublished',
  text: `SELECT position, id, type, occurred_at, data FROM payment_events WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED`,
};
const MARK_PUBLISHED: Statement = {
  name: 'events-mark-published',
  text: 'UPDATE payment_events SET published_at = statement_timestamp() WHERE position = ANY($1::bigint[])',
};

interface EventRow {
  position: string;
  id: string;
  type: PaymentEvent['type'];
  occurred_at: Date;
  data: PaymentEvent['data'];
}

/**
 * Takes the payment events of the outbox (written with the order's change they report) and applies
 * each to the projections, in one transaction per batch: the events' effects, their consumed
 * markers and "published" commit together. A worker that dies inside a batch leaves it
 * unpublished (the transaction rolls back) and another worker, or this one after a restart,
 * takes it again; the markers make an event applied twice a no-op. So events are delivered at
 * least once and the projections change exactly once.
 */
@Injectable()
export class EventsWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventsWorker.name);
  private readonly stopping = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly projections: ProjectionsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.run();
    this.logger.log('Publishing the payment events of the outbox to the projections');
  }

  /** A batch being applied finishes first (the loop checks between batches). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    let failure: string | undefined;
    while (!this.stopping.signal.aborted) {
      let delayMs = 0;
      try {
        // A full batch suggests more are waiting: the next is taken at once.
        if ((await this.publishBatch()) < BATCH_SIZE) delayMs = this.config.EVENTS_POLL_INTERVAL_MS;
        if (failure !== undefined) this.logger.log('Publishing events works again');
        failure = undefined;
      } catch (error) {
        const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
        if (failure !== message) this.logger.warn(`Publishing events failed (${message}); retrying`);
        failure = message;
        delayMs = RETRY_DELAY_MS;
      }
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** How many events the batch held. */
  private async publishBatch(): Promise<number> {
    return this.database.transaction(async (client) => {
      const { rows } = await this.database.query<EventRow>(TAKE_UNPUBLISHED, [BATCH_SIZE], client);
      if (rows.length === 0) return 0;
      const events = rows.map((row): PaymentEvent => ({ id: row.id, type: row.type, occurredAt: row.occurred_at.toISOString(), data: row.data }));
      // The whole batch in one statement: one round trip per batch, not per event.
      for (const result of await this.projections.applyAll(events, client)) {
        if (result === 'duplicate') eventDuplicatesDropped.publish({ source: 'outbox' });
      }
      // Tests widen the window between the effects and their commit to kill the worker inside it.
      if (this.config.EVENTS_ACK_DELAY_MS > 0) await sleep(this.config.EVENTS_ACK_DELAY_MS);
      await this.database.query(MARK_PUBLISHED, [rows.map((row) => row.position)], client);
      return rows.length;
    });
  }
}
