import { Inject, Injectable } from '@nestjs/common';
import { fromStore } from '../common/store-unavailable.js';
import { LuaScript, REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import type { ConsumedMarker } from '../outbox/consumed-marker.js';
import type { PaymentEvent } from './payment-event.js';
import type { CurrencyBalance, StoredReceipt } from './projections.js';

const receiptKey = (orderId: string) => `receipt:${orderId}`;
/** One hash per merchant and customer: `<currency>:amount` and `<currency>:payments` fields. */
const balanceKey = (owner: string, customerId: string) => `balance:${owner}:${customerId}`;

/**
 * Applies an event once, atomically: if its marker exists the event was consumed (a duplicate
 * or a redelivery after a crash) and nothing happens; otherwise the effect and the marker are
 * written together, so no crash can leave one without the other. The receipt is SET NX and the
 * balance only moves when it was created: a paid order counts once even after its marker expired.
 */
const APPLY_SCRIPT = new LuaScript<ProjectionResult>(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'duplicate' end
local result = 'no_effect'
if ARGV[3] ~= '' and redis.call('SET', KEYS[2], ARGV[3], 'NX') then
  redis.call('HINCRBY', KEYS[3], ARGV[4] .. ':amount', ARGV[5])
  redis.call('HINCRBY', KEYS[3], ARGV[4] .. ':payments', 1)
  result = 'applied'
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return result
`);

/** applied: receipt and balance changed; duplicate: consumed before; no_effect: consumed now, nothing to change. */
export type ProjectionResult = 'applied' | 'duplicate' | 'no_effect';

/** What merchants see of their payments' events: a receipt per paid order, a balance per customer and currency. */
@Injectable()
export class ProjectionsRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async apply(event: PaymentEvent, marker: ConsumedMarker): Promise<ProjectionResult> {
    const { data } = event;
    // Only a success changes what merchants see; a failure is consumed (marked) without effect.
    const receipt: StoredReceipt | undefined =
      event.type === 'payment.succeeded' && data.chargeId
        ? {
            orderId: data.orderId,
            chargeId: data.chargeId,
            customerId: data.customerId,
            amount: data.amount,
            currency: data.currency,
            paidAt: event.occurredAt,
            eventId: event.id,
            owner: data.owner,
          }
        : undefined;
    return fromStore(
      APPLY_SCRIPT.run(
        this.redis,
        [marker.key, receiptKey(data.orderId), balanceKey(data.owner, data.customerId)],
        [marker.value, marker.ttlMs, receipt ? JSON.stringify(receipt) : '', data.currency, data.amount],
      ),
    );
  }

  async findReceipt(orderId: string): Promise<StoredReceipt | undefined> {
    const raw = await fromStore(this.redis.get(receiptKey(orderId)));
    return raw ? (JSON.parse(raw) as StoredReceipt) : undefined;
  }

  /** The customer's balance with this merchant, by currency code. */
  async balances(owner: string, customerId: string): Promise<CurrencyBalance[]> {
    const fields = await fromStore(this.redis.hgetall(balanceKey(owner, customerId)));
    const currencies = [...new Set(Object.keys(fields).map((field) => field.slice(0, field.indexOf(':'))))].sort();
    return currencies.map((currency) => ({
      currency,
      amount: Number(fields[`${currency}:amount`] ?? 0),
      payments: Number(fields[`${currency}:payments`] ?? 0),
    }));
  }
}
