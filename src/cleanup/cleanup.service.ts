import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PostgresIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/postgres';
import { ApiProperty } from '@nestjs/swagger';
import { AppConfig } from '../config/index.js';
import { Database, type Statement } from '../database/database.js';

const BATCH_SIZE = 1000;

/** Published events past the retention, oldest first, a batch at a time; an unpublished event stays. */
const DELETE_OLD_EVENTS: Statement = {
  name: 'cleanup-events',
  text: `DELETE FROM payment_events WHERE position IN (
  SELECT position FROM payment_events WHERE published_at < $1 ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED
)`,
};
const DELETE_OLD_MARKERS: Statement = {
  name: 'cleanup-consumed-events',
  text: `DELETE FROM consumed_events WHERE (consumer, event_id) IN (
  SELECT consumer, event_id FROM consumed_events WHERE consumed_at < $1 ORDER BY consumed_at LIMIT $2 FOR UPDATE SKIP LOCKED
)`,
};

export class CleanupReport {
  @ApiProperty({ description: 'Stored outcomes (and abandoned locks) past their expiry, removed from PostgreSQL' })
  idempotencyRecords: number;

  @ApiProperty({ description: 'Published payment events older than EVENTS_RETENTION_SECONDS' })
  events: number;

  @ApiProperty({ description: 'Consumed-event markers older than EVENTS_RETENTION_SECONDS' })
  consumedEvents: number;
}

/**
 * Removes what has served its time: expired stored outcomes (never answered past their expiry;
 * this reclaims space), and published events and consumed markers past EVENTS_RETENTION_SECONDS.
 * Orders, payments, receipts and the ledger are never deleted. Runs every CLEANUP_INTERVAL_SECONDS
 * in each instance of the service, and on POST /api/admin/cleanup; instances cleaning at the same
 * time skip each other's rows.
 */
@Injectable()
export class CleanupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CleanupService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly config: AppConfig,
    private readonly database: Database,
    private readonly records: PostgresIdempotencyStore,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.CLEANUP_INTERVAL_SECONDS === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.removeExpired()
        .then((report) => this.logger.log(`Cleanup removed ${JSON.stringify(report)}`))
        .catch((error: unknown) => this.logger.warn(`Cleanup failed (${error instanceof Error ? error.message : String(error)}); next round later`))
        .finally(() => (this.running = undefined));
    }, this.config.CLEANUP_INTERVAL_SECONDS * 1000).unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async removeExpired(): Promise<CleanupReport> {
    const retainedSince = new Date(Date.now() - this.config.EVENTS_RETENTION_SECONDS * 1000).toISOString();
    return {
      idempotencyRecords: await this.records.deleteExpired({ batchSize: BATCH_SIZE }),
      events: await this.deleteInBatches(DELETE_OLD_EVENTS, retainedSince),
      consumedEvents: await this.deleteInBatches(DELETE_OLD_MARKERS, retainedSince),
    };
  }

  private async deleteInBatches(statement: Statement, before: string): Promise<number> {
    let deleted = 0;
    let batch: number;
    do {
      batch = (await this.database.query(statement, [before, BATCH_SIZE])).rowCount ?? 0;
      deleted += batch;
    } while (batch === BATCH_SIZE);
    return deleted;
  }
}
