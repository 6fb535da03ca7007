import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { HttpRequest } from '../http/http-request.js';
import { ProblemException } from './problem.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper bodies are refused later, by the fingerprint (BODY_TOO_DEEP); no need to walk them here. */
const MAX_DEPTH = 65;

/** Path of the first forbidden key in a parsed JSON value, if any. */
function findForbiddenKey(value: unknown, path: string, depth = 0): string | undefined {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  for (const key of Object.keys(value)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) return keyPath;
    const nested = findForbiddenKey((value as Record<string, unknown>)[key], keyPath, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * JSON.parse keeps a "__proto__" key as an own property, and class-transformer would assign it,
 * setting a prototype. Such keys are never valid fields here, so bodies holding them are refused
 * before any pipe or handler sees them: the first interceptor, where both adapters have parsed the
 * body (the parsers themselves are left to keep such keys, so both answer the same problem).
 */
@Injectable()
export class RejectPrototypeKeysInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const field = findForbiddenKey(context.switchToHttp().getRequest<HttpRequest>().body, '');
    if (!field) return next.handle();
    throw new ProblemException(400, 'VALIDATION_FAILED', 'The request is not valid; see errors.', {
      errors: [{ field, message: `property ${field.split('.').pop()} should not exist` }],
    });
  }
}
