import { Inject, Injectable } from '@nestjs/common';
import { fromStore } from '../common/store-unavailable.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import type { Order } from './order.js';

const orderKey = (id: string) => `order:${id}`;
const ownerIndexKey = (owner: string) => `orders:by-owner:${owner}`;
/** Index members sort by creation time, then id; the lexicographic order is the listing order. */
const indexMember = (order: Order) => `${Date.parse(order.createdAt).toString().padStart(15, '0')}:${order.id}`;

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
    const created = await fromStore(this.redis.set(orderKey(order.id), JSON.stringify(order), 'NX'));
    const stored = created ? order : await this.find(order.id);
    if (!stored) throw new Error(`Order ${order.id} vanished between SET NX and GET`);
    await fromStore(this.redis.zadd(ownerIndexKey(stored.owner), 'NX', 0, indexMember(stored)));
    return stored;
  }

  async find(id: string): Promise<Order | undefined> {
    const raw = await fromStore(this.redis.get(orderKey(id)));
    return raw ? (JSON.parse(raw) as Order) : undefined;
  }

  async save(order: Order): Promise<void> {
    await fromStore(this.redis.set(orderKey(order.id), JSON.stringify(order)));
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
