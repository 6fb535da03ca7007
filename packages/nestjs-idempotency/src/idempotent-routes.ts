import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, RESPONSE_PASSTHROUGH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENT_METADATA } from './idempotency.constants.js';

/** One `@Idempotent()` handler of the app, as NestJS routes it. */
export interface IdempotentHandler {
  name: string;
  method: RequestMethod;
  /** Controller and handler paths joined, without the global prefix (NestJS adds it to middleware routes). */
  paths: string[];
  /** Takes `@Res()` without passthrough, so NestJS would send nothing the layer could store. */
  takesResponse: boolean;
}

/** Every `@Idempotent()` handler, read from the metadata NestJS routes by. */
export function findIdempotentHandlers(discovery: DiscoveryService, reflector: Reflector): IdempotentHandler[] {
  const scanner = new MetadataScanner();
  const handlers: IdempotentHandler[] = [];
  for (const { instance, metatype } of discovery.getControllers()) {
    if (!instance || !metatype) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name]!;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined || !reflector.getAllAndOverride(IDEMPOTENT_METADATA, [handler, metatype])) continue;
      const paths = asList(Reflect.getMetadata(PATH_METADATA, metatype)).flatMap((controllerPath) =>
        asList(Reflect.getMetadata(PATH_METADATA, handler)).map((handlerPath) => joinPath(controllerPath, handlerPath)),
      );
      handlers.push({ name: `${metatype.name}.${name}`, method, paths, takesResponse: takesResponse(metatype, name) });
    }
  }
  return handlers;
}

export function routesOf(handlers: IdempotentHandler[]): Array<{ path: string; method: RequestMethod }> {
  return handlers.flatMap(({ method, paths }) => paths.map((path) => ({ path, method })));
}

/**
 * Puts `Idempotency-Cached: false` on every response of an idempotent route from its first
 * middleware on, so the answers given before the interceptor runs (an auth guard's 401, a rate
 * limit's 429, a body the parser refuses where parsing follows the middleware) carry it too. The
 * interceptor turns it to `true` for a replay. Middleware get Node's response on both adapters.
 */
export function markIdempotentResponse(_request: unknown, response: { setHeader(name: string, value: string): unknown }, next: () => void): void {
  response.setHeader(IDEMPOTENCY_CACHED_HEADER, 'false');
  next();
}

/** As NestJS decides it: a handler with `@Res()` or `@Next()` sends the response itself, unless passthrough. */
function takesResponse(controller: Function, methodName: string): boolean {
  if (Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, methodName)) return false;
  const args = Object.keys((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodName) as object | undefined) ?? {});
  return args.some((key) => key.startsWith(`${RouteParamtypes.RESPONSE}:`) || key.startsWith(`${RouteParamtypes.NEXT}:`));
}

function asList(path: unknown): string[] {
  if (Array.isArray(path)) return path.map(String);
  return [path === undefined ? '' : String(path as string)];
}

function joinPath(...parts: string[]): string {
  return (
    '/' +
    parts
      .flatMap((part) => part.split('/'))
      .filter(Boolean)
      .join('/')
  );
}
