/**
 * The server of the bench's layer scenario (`npm run bench:layer`): one trivial POST route, bare or behind an
 * idempotency layer, on the adapter, store and handler shape named by the environment:
 *
 *   ADAPTER=express|fastify  LAYER=ours|peer  STORE=none|memory|redis|postgres|tiered  HANDLER=returning|passthrough
 *   PORT  REDIS_URL  DATABASE_URL
 *
 * STORE=tiered is the Redis store over the PostgreSQL store.
 * LAYER=ours is this repository's package; LAYER=peer is `@node-idempotency/nestjs`, configured as
 * its README says, with its Redis adapter (STORE=redis only; HANDLER does not apply).
 * Nothing else runs in it: what it costs per request is the framework's and the layer's.
 */
import 'reflect-metadata';
import { applyDecorators, Body, Controller, Post, Res, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Idempotent, IdempotencyModule, MemoryIdempotencyStore, TieredIdempotencyStore, type IdempotencyStore } from '@idempotent-payments/nestjs-idempotency';
import { PostgresIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/postgres';
import { RedisIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/redis';
import { Idempotent as PeerIdempotent, NodeIdempotencyModule, StorageAdapterEnum } from '@node-idempotency/nestjs';
import { Redis } from 'ioredis';
import { Pool } from 'pg';

const {
  ADAPTER = 'express',
  LAYER = 'ours',
  STORE = 'none',
  HANDLER = 'returning',
  PORT = '3000',
  REDIS_URL = 'redis://127.0.0.1:6379',
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres',
} = process.env;

const item = (body: unknown) => ({ id: 'item_1', status: 'created', body });

/** The one route, with the decorators of a layer (none: bare). */
function itemsController(...decorators: MethodDecorator[]) {
  @Controller('items')
  class ItemsController {
    @Post()
    @applyDecorators(...decorators)
    create(@Body() body: unknown): unknown {
      return item(body);
    }
  }
  return ItemsController;
}

@Controller('items')
class PassthroughController {
  @Post()
  @Idempotent()
  create(@Body() body: unknown, @Res({ passthrough: true }) response: { header(name: string, value: string): unknown }): unknown {
    response.header('location', '/items/item_1');
    return item(body);
  }
}

function appModule(): DynamicModule {
  if (STORE === 'none') return { module: class BareApp {}, controllers: [itemsController()] };
  if (LAYER === 'peer') {
    if (STORE !== 'redis') throw new Error(`the peer layer runs with its Redis adapter only (STORE=redis), not STORE=${STORE}`);
    return {
      module: class PeerApp {},
      imports: [NodeIdempotencyModule.forRootAsync({ storage: { adapter: StorageAdapterEnum.redis, options: { url: REDIS_URL } } })],
      controllers: [itemsController(PeerIdempotent())],
    };
  }
  const redis = () => new RedisIdempotencyStore(new Redis(REDIS_URL, { enableAutoPipelining: true }));
  const postgres = () => new PostgresIdempotencyStore(new Pool({ connectionString: DATABASE_URL }));
  const stores: Record<string, () => IdempotencyStore> = {
    memory: () => new MemoryIdempotencyStore(),
    redis,
    postgres,
    tiered: () => new TieredIdempotencyStore({ hot: redis(), durable: postgres() }),
  };
  const store = stores[STORE]!();
  return {
    module: class LayerApp {},
    imports: [IdempotencyModule.forRoot({ store })],
    controllers: [HANDLER === 'passthrough' ? PassthroughController : itemsController(Idempotent())],
  };
}

const adapter = ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(appModule(), adapter, { logger: false });
await app.listen(Number(PORT), '127.0.0.1');
