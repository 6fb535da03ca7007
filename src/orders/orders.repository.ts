import { Inject, Injectable } from '@nestjs/common';
import { fromStore, storeUnavailable } from '../common/store-unavailable.js';
import type { ConsumedMarker } from '../events/consumed-marker.js';
import { PAYMENTS_STREAM, toStreamFields, type PaymentEvent } from '../events/payment-event.js';
import { supportsEvents } from '../events/standalone-store.js';
import { LuaScript, REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { GATEWAY_STATUS_RANK, type GatewayStatus, type Order } from './order.js';

const orderKey = (id: string) => `order:${id}`;
/** The gateway's reported status, apart from the order: a webhook never races a status change's full rewrite of the order. */
const gatewayStatusKey = (id: string) => `order:${id}:gateway`;
const ownerIndexKey = (owner: string) => `orders:by-owner:${owner}`;
/** Index members sort by creation time, then id; the lexicographic order is the listing order. */
const indexMember = (order: Order) => `${Date.parse(order.createdAt).toString().padStart(15, '0')}:${order.id}`;

/**
 * Records a webhook's status once per event id, never backwards, in one atomic step: a consumed
 * event (marker) is a no-op; an unknown order changes nothing and leaves no marker; a status of
 * lower or equal rank than the recorded one is consumed without effect.
 */
const GATEWAY_STATUS_SCRIPT = new LuaScript<GatewayStatusResult>(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'duplicate' end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'unknown_order' end
local result = 'ignored'
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[3], 'rank') or '0') then
  redis.call('HSET', KEYS[3], 'status', ARGV[1], 'rank', ARGV[2], 'eventId', ARGV[3], 'updatedAt', ARGV[4])
  result = 'applied'
end
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
return result
`);

export type GatewayStatusResult = 'applied' | 'duplicate' | 'ignored' | 'unknown_order';

export interface OrderPage {
  orders: Order[];
  /** Index member of the last order returned, when more may follow. */
  last?: string;
}

/**
 * Orders as JSON in Redis, with no expiry: they are the business record. Each owner has a sorted
 * set index for newest-first listing. Writes are idempotent, so a retry after a crash between
 * them repairs what is missing.
 */
@Injectable()
export class OrdersRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  /** Creates the order unless one with its id exists; returns the order that is stored. */
  async createIfAbsent(order: Order): Promise<Order> {
    const created = await fromStore(this.redis.set(orderKey(order.id), serialize(order), 'NX'));
    const stored = created ? order : await this.find(order.id);
    if (!stored) throw new Error(`Order ${order.id} vanished between SET NX and GET`);
    await fromStore(this.redis.zadd(ownerIndexKey(stored.owner), 'NX', 0, indexMember(stored)));
    return stored;
  }

  async find(id: string): Promise<Order | undefined> {
    const [raw, gatewayStatus] = await fromStore(Promise.all([this.redis.get(orderKey(id)), this.redis.hget(gatewayStatusKey(id), 'status')]));
    if (!raw) return undefined;
    const order = JSON.parse(raw) as Order;
    return gatewayStatus ? { ...order, gatewayStatus: gatewayStatus as GatewayStatus } : order;
  }

  /**
   * Stores a status change and appends its event to the stream in one MULTI, so no process can die
   * between the two: a change is never without its event, nor an event without its change. On a
   * Redis Cluster the order and the stream live in different slots, where MULTI is refused; there
   * the change is stored alone and no event is emitted (see supportsEvents).
   */
  async saveWithEvent(order: Order, event: PaymentEvent): Promise<void> {
    if (!supportsEvents(this.redis)) {
      await fromStore(this.redis.set(orderKey(order.id), serialize(order)));
      return;
    }
    const replies = await fromStore(
      this.redis
        .multi()
        .set(orderKey(order.id), serialize(order))
        .xadd(PAYMENTS_STREAM, '*', ...toStreamFields(event))
        .exec(),
    );
    const failed = replies === null ? new Error('MULTI aborted') : replies.find(([error]) => error)?.[0];
    if (failed) throw storeUnavailable('The data store did not take the change; retry later with the same key.', { cause: failed });
  }

  /** Records the gateway status a webhook reported (see GATEWAY_STATUS_SCRIPT) together with its consumed marker. */
  async recordGatewayStatus(orderId: string, status: GatewayStatus, eventId: string, marker: ConsumedMarker): Promise<GatewayStatusResult> {
    return fromStore(
      GATEWAY_STATUS_SCRIPT.run(
        this.redis,
        [marker.key, orderKey(orderId), gatewayStatusKey(orderId)],
        [status, GATEWAY_STATUS_RANK[status], eventId, new Date().toISOString(), marker.value, marker.ttlMs],
      ),
    );
  }

  /** Newest first, `limit` orders older than the `after` member. */
  async listByOwner(owner: string, limit: number, after?: string): Promise<OrderPage> {
    const members = await fromStore(
      this.redis.zrange(ownerIndexKey(owner), after ? `(${after}` : '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, limit + 1),
    );
    const page = members.slice(0, limit);
    const ids = page.map((member) => member.slice(member.indexOf(':') + 1));
    // One GET per order rather than MGET: order keys live in different Redis Cluster slots.
    const found = await Promise.all(ids.map((id) => this.find(id)));
    const orders = found.filter((order): order is Order => order !== undefined);
    return { orders, last: members.length > limit ? page.at(-1) : undefined };
  }
}

/** The gateway status is kept in its own key and merged in on reading, never stored in the order. */
function serialize({ gatewayStatus: _gatewayStatus, ...order }: Order): string {
  return JSON.stringify(order);
}
