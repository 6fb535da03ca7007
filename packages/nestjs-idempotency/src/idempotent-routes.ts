import type { Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENT_METADATA } from './idempotency.constants.js';

/** @nestjs/common's METHOD_METADATA: what @Get, @Post… set on a route's method. */
const METHOD_METADATA = 'method';
/** A method that answers HTTP requests: it has a request method (@Get, @Post…); message handlers have a pattern instead. */
const isRoute = (method: Function) => Reflect.getMetadata(METHOD_METADATA, method) !== undefined;

/** The controllers with an `@Idempotent()` HTTP route (on the class or a method), found once at start. */
export function controllersWithIdempotentRoutes(discovery: DiscoveryService, reflector: Reflector): Type[] {
  const scanner = new MetadataScanner();
  const controllers: Type[] = [];
  for (const { instance, metatype } of discovery.getControllers()) {
    if (!instance || !metatype) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
    const routes = scanner.getAllMethodNames(prototype).filter((name) => isRoute(prototype[name]!));
    const idempotent =
      routes.length > 0 &&
      (reflector.get(IDEMPOTENT_METADATA, metatype) !== undefined || routes.some((name) => reflector.get(IDEMPOTENT_METADATA, prototype[name]!) !== undefined));
    if (idempotent) controllers.push(metatype as Type);
  }
  return controllers;
}

/**
 * Puts `Idempotency-Cached: false` on the responses of controllers with idempotent routes from
 * their first middleware on, so the answers given before the interceptor runs (an auth guard's
 * 401, a rate limit's 429, a body the parser refuses where parsing follows the middleware) carry
 * it too; it is true only on a replay, which is what the header says. Middleware get Node's
 * response on both adapters.
 */
export function markIdempotentResponse(_request: unknown, response: { setHeader(name: string, value: string): unknown }, next: () => void): void {
  response.setHeader(IDEMPOTENCY_CACHED_HEADER, 'false');
  next();
}
