import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { RequestHandler } from 'express';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENT_METADATA } from './idempotency.constants.js';

export interface IdempotentRoute {
  method: string;
  /** The full path, global prefix included; `:params` match one segment. */
  path: RegExp;
}

/** Every `@Idempotent()` route of the app, read from the metadata NestJS routes by. */
export function findIdempotentRoutes(app: INestApplication, globalPrefix: string): IdempotentRoute[] {
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  const routes: IdempotentRoute[] = [];
  for (const { instance, metatype } of app.get(DiscoveryService).getControllers()) {
    if (!instance || !metatype) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name]!;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined || !reflector.getAllAndOverride(IDEMPOTENT_METADATA, [handler, metatype])) continue;
      for (const controllerPath of asList(Reflect.getMetadata(PATH_METADATA, metatype))) {
        for (const handlerPath of asList(Reflect.getMetadata(PATH_METADATA, handler))) {
          routes.push({ method: RequestMethod[method], path: pathPattern([globalPrefix, controllerPath, handlerPath]) });
        }
      }
    }
  }
  return routes;
}

/**
 * Puts `Idempotency-Cached: false` on every response of an idempotent route from the first
 * middleware on, so the answers given before the idempotency layer runs (401, 429, a malformed or
 * too large body, shutting down) carry it too, as the contract asks of every response of such a
 * route. The interceptor turns it to `true` for a replay.
 */
export function markIdempotentRoutes(routes: IdempotentRoute[]): RequestHandler {
  return (request, response, next) => {
    if (routes.some((route) => route.method === request.method && route.path.test(request.path))) {
      response.setHeader(IDEMPOTENCY_CACHED_HEADER, 'false');
    }
    next();
  };
}

function asList(path: unknown): string[] {
  if (Array.isArray(path)) return path.map(String);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- Nest's path metadata: a string or a list of them
  return [path === undefined ? '' : String(path)];
}

function pathPattern(parts: string[]): RegExp {
  const segments = parts.join('/').split('/').filter(Boolean);
  const source = segments.map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return new RegExp(`^/${source}/?$`);
}
