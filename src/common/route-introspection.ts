import type { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import type { Request } from 'express';

const responseTakers = new WeakMap<Function, boolean>();

/**
 * Whether the handler takes the response (`@Res()` without passthrough), in which case NestJS
 * sends nothing itself. Read from the same metadata NestJS reads, once per handler.
 */
export function handlerTakesResponse(context: ExecutionContext): boolean {
  const handler = context.getHandler();
  let takes = responseTakers.get(handler);
  if (takes === undefined) {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as Record<string, { data?: { passthrough?: boolean } }>;
    takes = Object.entries(args).some(([key, arg]) => key.startsWith(`${RouteParamtypes.RESPONSE}:`) && !arg.data?.passthrough);
    responseTakers.set(handler, takes);
  }
  return takes;
}

/** Every occurrence of a header as sent: Node joins repeated headers into one string. */
export function headerOccurrences(request: Request, name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    if (request.rawHeaders[index]!.toLowerCase() === lower) values.push(request.rawHeaders[index + 1]!);
  }
  return values;
}
