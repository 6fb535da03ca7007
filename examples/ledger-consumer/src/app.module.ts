import { type DynamicModule, Module } from '@nestjs/common';
import { IdempotencyModule } from '@idempotent-payments/nestjs-idempotency';
import { PostgresIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/postgres';
import type { Pool } from 'pg';
import { PG_POOL, PoolCloser } from './database.js';
import { LedgerConsumer } from './ledger.consumer.js';
import { LedgerController } from './ledger.controller.js';
import { LedgerRepository } from './ledger.repository.js';

@Module({})
export class AppModule {
  /** `pool` is the ledger's database, opened (and its table created) before the app starts; the app ends it on shutdown. */
  static register(pool: Pool): DynamicModule {
    return {
      module: AppModule,
      imports: [
        IdempotencyModule.forRoot({
          // The records live next to the ledger, in the same database, so that they commit together.
          store: new PostgresIdempotencyStore(pool, { cleanupIntervalMs: 60_000 }),
          messages: { ack: 'manual' },
        }),
      ],
      controllers: [LedgerConsumer, LedgerController],
      providers: [{ provide: PG_POOL, useValue: pool }, PoolCloser, LedgerRepository],
    };
  }
}
