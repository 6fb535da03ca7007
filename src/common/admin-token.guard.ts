import { CanActivate, Injectable } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/index.js';
import { ProblemException } from './problem.js';

export const ADMIN_TOKEN_HEADER = 'X-Admin-Token';

/** Guards the admin routes with ADMIN_TOKEN when one is configured (compared in constant time). */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(config: AppConfig) {
    this.expected = config.ADMIN_TOKEN === undefined ? undefined : digest(config.ADMIN_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) return true;
    const presented = context.switchToHttp().getRequest<Request>().header(ADMIN_TOKEN_HEADER);
    if (presented === undefined || !timingSafeEqual(digest(presented), this.expected)) {
      throw new ProblemException(401, 'ADMIN_TOKEN_INVALID', `This route requires a valid ${ADMIN_TOKEN_HEADER} header.`);
    }
    return true;
  }
}

/** Equal-length digests let timingSafeEqual compare tokens of any length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
