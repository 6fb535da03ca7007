import { Inject, Injectable } from '@nestjs/common';
import { fromStore } from '../common/store-unavailable.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import type { StoredPayment } from './payment.js';

const paymentKey = (id: string) => `payment:${id}`;

/** Payments by charge id, without expiry: they are the business record. */
@Injectable()
export class PaymentsRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async save(payment: StoredPayment): Promise<void> {
    await fromStore(this.redis.set(paymentKey(payment.id), JSON.stringify(payment)));
  }

  async find(id: string): Promise<StoredPayment | undefined> {
    const raw = await fromStore(this.redis.get(paymentKey(id)));
    return raw ? (JSON.parse(raw) as StoredPayment) : undefined;
  }
}
