import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/index.js';
import { Database, type Statement } from '../database/database.js';
import { outboxObserved } from '../metrics/outbox.channel.js';
import { EventPublisher } from './event-publisher.js';
import type { PaymentEvent } from './payment-event.js';

const BATCH_SIZE = 100;
const RETRY_DELAY_MS = 500;

/**
 * The oldest unpublished events, locked by this transaction: rows another relay's transaction
 * holds are skipped rather than waited for, so several instances relay the outbox without ever
 * publishing one event concurrently.
 */
const TAKE_UNPUBLISHED: Statement = {
  name: 'relay-take-unpublished',
  text: 'SELECT position, id, type, occurred_at, data FROM payment_events WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED',
};
const MARK_PUBLISHED: Statement = {
  name: 'relay-mark-published',
  text: 'UPDATE payment_events SET published_at = statement_timestamp() WHERE position = ANY($1::bigint[])',
};
/** When the oldest event still waiting was written: the relay's lag. */
const OLDEST_UNPUBLISHED: Statement = {
  name: 'relay-oldest-unpublished',
  text: 'SELECT min(occurred_at) AS oldest FROM payment_events WHERE published_at IS NULL',
};

interface EventRow {
  position: string;
  id: string;
  type: PaymentEvent['type'];
  occurred_at: Date;
  data: PaymentEvent['data'];
}

/**
 * Publishes the payment events of the outbox (written in the transaction of the order's change
 * they report) to the broker, a batch per transaction: the rows are locked, published, confirmed
 * by the broker, and only then marked published and committed. A relay that dies between the
 * confirm and the commit leaves the batch unpublished, so it is published again: events leave at
 * least once, and consumers drop the duplicates by event id. A broker that is down stops nothing
 * but this: charges go on, and their events wait in the outbox until it is back.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly stopping = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly publisher: EventPublisher,
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.run();
  }

  /** A batch in hand finishes first (the loop checks between batches). */
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
        if ((await this.relayBatch()) < BATCH_SIZE) delayMs = this.config.EVENTS_POLL_INTERVAL_MS;
        if (failure !== undefined) this.logger.log('Relaying events works again');
        failure = undefined;
      } catch (error) {
        const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
        if (failure !== message) this.logger.warn(`Relaying events failed (${message}); they wait in the outbox, retrying`);
        failure = message;
        delayMs = RETRY_DELAY_MS;
      }
      await this.observeLag();
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** How many events the batch held. */
  private async relayBatch(): Promise<number> {
    return this.database.transaction(async (client) => {
      const { rows } = await this.database.query<EventRow>(TAKE_UNPUBLISHED, [BATCH_SIZE], client);
      if (rows.length === 0) return 0;
      await this.publisher.publish(rows.map((row) => ({ id: row.id, type: row.type, occurredAt: row.occurred_at.toISOString(), data: row.data })));
      // Tests widen the window between the broker's confirm and the commit to kill the relay inside it.
      if (this.config.EVENTS_ACK_DELAY_MS > 0) await sleep(this.config.EVENTS_ACK_DELAY_MS);
      await this.database.query(MARK_PUBLISHED, [rows.map((row) => row.position)], client);
      return rows.length;
    });
  }

  private async observeLag(): Promise<void> {
    const oldest = await this.database.query<{ oldest: Date | null }>(OLDEST_UNPUBLISHED, []).catch(() => undefined);
    if (oldest) outboxObserved.publish({ oldestUnpublishedAt: oldest.rows[0]?.oldest?.getTime() });
  }
}
