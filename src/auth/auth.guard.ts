import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hash, timingSafeEqual } from 'node:crypto';
import { headerOf, type HttpRequest } from '../http/http-request.js';
import type { RequestWithPrincipal } from './principal.js';
import { ProblemException } from '../common/problem.js';
import { AppConfig } from '../config/index.js';
import { ADMIN_TOKEN_HEADER, ROUTE_ROLE_METADATA, type RouteRole } from './auth.constants.js';
import { parseApiKeys } from '../config/api-keys.js';

/** Equal-length digests let timingSafeEqual compare secrets of any length. */
const digest = (secret: string) => hash('sha256', secret, 'buffer');

/**
 * Authenticates every route before anything else runs (so before any lock or charge):
 * merchants by `Authorization: Bearer <API key>`, operators by the admin token. The merchant id
 * becomes the request's principal, which scopes idempotency keys, orders and payments.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger(AuthGuard.name);
  private readonly merchantKeys?: Array<{ merchant: string; digest: Buffer }>;
  private readonly adminDigest?: Buffer;
  private readonly production: boolean;

  constructor(
    private readonly reflector: Reflector,
    config: AppConfig,
  ) {
    this.production = config.NODE_ENV === 'production';
    this.merchantKeys = config.API_KEYS ? parseApiKeys(config.API_KEYS).map(({ merchant, key }) => ({ merchant, digest: digest(key) })) : undefined;
    this.adminDigest = config.ADMIN_TOKEN ? digest(config.ADMIN_TOKEN) : undefined;
    if (!this.merchantKeys) this.logger.warn('API_KEYS is not set: every caller is the merchant "anonymous" (development only)');
    if (!this.adminDigest) {
      this.logger.warn(
        this.production ? 'ADMIN_TOKEN is not set: the admin routes are off' : 'ADMIN_TOKEN is not set: the admin routes are open (development only)',
      );
    }
  }

  canActivate(context: ExecutionContext): boolean {
    // Messages of the event consumers come through the broker, whose credentials are the service's own.
    if (context.getType() !== 'http') return true;
    const role = this.reflector.getAllAndOverride<RouteRole | undefined>(ROUTE_ROLE_METADATA, [context.getHandler(), context.getClass()]) ?? 'merchant';
    const request = context.switchToHttp().getRequest<HttpRequest & RequestWithPrincipal>();
    if (role === 'public') return true;
    if (role === 'admin') return this.authenticateAdmin(request);
    if (!this.merchantKeys) return true;
    const presented = bearerToken(request);
    const merchant = presented === undefined ? undefined : this.findMerchant(digest(presented));
    if (!merchant) {
      throw new ProblemException(401, 'UNAUTHENTICATED', 'Send a valid API key as "Authorization: Bearer <key>".', {
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    }
    request.principal = merchant;
    return true;
  }

  private authenticateAdmin(request: HttpRequest): boolean {
    if (!this.adminDigest) {
      if (this.production) throw new ProblemException(404, 'NOT_FOUND', 'No route matches this method and path.');
      return true;
    }
    const presented = headerOf(request, ADMIN_TOKEN_HEADER) ?? bearerToken(request);
    if (presented === undefined || !timingSafeEqual(digest(presented), this.adminDigest)) {
      throw new ProblemException(401, 'ADMIN_TOKEN_INVALID', `This route needs the admin token in ${ADMIN_TOKEN_HEADER} or as a bearer token.`);
    }
    return true;
  }

  /** Compares against every key, so the time taken does not tell which one nearly matched. */
  private findMerchant(presented: Buffer): string | undefined {
    let found: string | undefined;
    for (const { merchant, digest: expected } of this.merchantKeys!) {
      if (timingSafeEqual(presented, expected)) found = merchant;
    }
    return found;
  }
}

function bearerToken(request: HttpRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headerOf(request, 'authorization') ?? '');
  return match?.[1];
}
