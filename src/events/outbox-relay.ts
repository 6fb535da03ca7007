import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RepeatingJob } from '../common/repeating-job.js';
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
  private readonly job: RepeatingJob;

  constructor(
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly publisher: EventPublisher,
  ) {
    this.job = new RepeatingJob(new Logger(OutboxRelay.name), 'Relaying events', () => this.round(), RETRY_DELAY_MS);
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  /** A batch in hand finishes first (the job checks between batches). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** A full batch suggests more are waiting: the next is taken at once. The lag is observed whatever happened. */
  private async round(): Promise<number> {
    try {
      return (await this.relayBatch()) < BATCH_SIZE ? this.config.EVENTS_POLL_INTERVAL_MS : 0;
    } finally {
      await this.observeLag();
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
