import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Idempotent, IdempotentMessage, type IdempotentMessageContext } from '@idempotent-payments/nestjs-idempotency';
import type { Pool } from 'pg';
import { inTransaction } from '@idempotent-payments/nestjs-idempotency/postgres';
import { PG_POOL } from './database.js';
import { LedgerRepository } from './ledger.repository.js';
import { parsePaymentSucceeded, PAYMENT_SUCCEEDED } from './payment-event.js';

/**
 * One ledger entry per `payment.succeeded` event, however often RabbitMQ delivers it. The key is
 * the message's `Idempotency-Key` header (the event id); the entry and the idempotency record are
 * written in one transaction, so a crash between them cannot leave one without the other. The
 * layer acks a delivery after the commit (`ack: 'manual'`), acks a duplicate without running
 * anything, and requeues a delivery whose handler threw.
 */
@Controller()
export class LedgerConsumer {
  private readonly logger = new Logger(LedgerConsumer.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(LedgerRepository) private readonly ledger: LedgerRepository,
  ) {}

  @EventPattern(PAYMENT_SUCCEEDED)
  @Idempotent({ inTransaction: true })
  async onPaymentSucceeded(@IdempotentMessage() message: IdempotentMessageContext, @Payload() payload: unknown): Promise<void> {
    const event = parsePaymentSucceeded(payload);
    const { value: entryId, replayed } = await inTransaction(this.pool, (client) =>
      message.run(() => this.ledger.append(client, event), { transaction: client }),
    );
    if (replayed) this.logger.log(`${event.id} is a duplicate: already ledger entry ${entryId}`);
    else this.logger.log(`${event.id}: ledger entry ${entryId}, ${event.data.amount} ${event.data.currency} for ${event.data.orderId}`);
  }
}
