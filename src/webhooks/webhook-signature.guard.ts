import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { headerOf, type HttpRequest } from '../http/http-request.js';
import { ProblemException } from '../common/problem.js';
import { AppConfig } from '../config/index.js';
import { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS, verifySignature, webhookSecretOf, type SignatureCheck } from '../gateway/webhook-signature.js';

const FORMAT = `${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`;
const DETAILS: Record<Exclude<SignatureCheck, 'valid'>, string> = {
  missing: `Send the signature as ${FORMAT}.`,
  malformed: `The signature must look like ${FORMAT}.`,
  stale: `The signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s away from now.`,
  mismatch: 'The signature does not match the body.',
};

/**
 * Webhooks carry no API key: the gateway proves itself by signing the exact body it sent. Runs as a
 * guard, before the body is validated or anything is read or written, so a forged delivery gets
 * 401 and has no effect at all.
 */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  private readonly secret?: string;

  constructor(config: AppConfig) {
    this.secret = webhookSecretOf(config);
  }

  canActivate(context: ExecutionContext): boolean {
    // Production without WEBHOOK_SECRET: the route is off, like the admin routes without a token.
    if (!this.secret) throw new ProblemException(404, 'NOT_FOUND', 'No route matches this method and path.');
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const check = verifySignature(headerOf(request, SIGNATURE_HEADER), request.rawBody ?? Buffer.alloc(0), this.secret);
    if (check === 'missing' || check === 'malformed' || check === 'stale') throw invalidSignature(check);
    // Only parsed (JSON) bodies are kept raw (the app's rawBody option); another content type cannot be verified.
    if (!request.rawBody) throw new ProblemException(415, 'UNSUPPORTED_MEDIA_TYPE', 'Webhooks must be sent as application/json.');
    if (check !== 'valid') throw invalidSignature(check);
    return true;
  }
}

function invalidSignature(check: Exclude<SignatureCheck, 'valid'>): ProblemException {
  return new ProblemException(401, 'WEBHOOK_SIGNATURE_INVALID', DETAILS[check]);
}
