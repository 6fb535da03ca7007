import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/index.js';
import { GATEWAY_WEBHOOK_TYPES, gatewayWebhookFor, type GatewayWebhook } from './gateway-webhook.js';
import { SIGNATURE_HEADER, WEBHOOK_PATH, signatureHeader, webhookSecretOf } from './webhook-signature.js';
import type { GatewayCharge } from './gateway-charge.js';
import type { PaymentBehavior } from './payment-behavior.js';

const MAX_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 200;
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * The mock gateway's webhooks: for each new charge, charge.pending then charge.succeeded, signed
 * with WEBHOOK_SECRET, posted in the background to WEBHOOK_URL (by default this instance's own
 * /api/webhooks/gateway). Like a real gateway it delivers at least once: it retries on failure,
 * re-signing each attempt, and the admin behaviour can make it send events twice
 * (webhookDuplicateRate) and out of order (webhookShuffle).
 */
@Injectable()
export class WebhookDeliveryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('GatewayWebhooks');
  private readonly secret?: string;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    // Off when disabled or without a secret (production), where the receiver is off too.
    this.secret = config.WEBHOOK_DELIVERY ? webhookSecretOf(config) : undefined;
  }

  /** Starts delivering the charge's events and returns at once: the charge does not wait for them. */
  deliverChargeEvents(charge: GatewayCharge, behavior: PaymentBehavior): void {
    const secret = this.secret;
    if (!secret || this.stopping.signal.aborted) return;
    const deliveries = GATEWAY_WEBHOOK_TYPES.map((type) => gatewayWebhookFor(type, charge)).flatMap((event) =>
      Math.random() < behavior.webhookDuplicateRate ? [event, event] : [event],
    );
    if (behavior.webhookShuffle) shuffle(deliveries);
    const sending: Promise<void> = (async () => {
      for (const event of deliveries) await this.deliver(event, secret);
    })().finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  /** Deliveries in flight stop (a real gateway would retry later; the receiver is going away anyway). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.inFlight);
  }

  private async deliver(event: GatewayWebhook, secret: string): Promise<void> {
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 2), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.stopping.signal.aborted) return;
      try {
        const response = await fetch(this.targetUrl(), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(secret, body) },
          body,
          signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
        });
        await response.arrayBuffer();
        if (response.ok) return;
        // A refusal other than "later" (408, 429, 5xx) will not change by sending the same bytes again.
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          this.logger.warn(`Webhook ${event.type} ${event.id} refused with status ${response.status}; not retried`);
          return;
        }
      } catch {
        // Unreachable or timed out: retried like a 5xx.
      }
    }
    if (!this.stopping.signal.aborted) this.logger.warn(`Webhook ${event.type} ${event.id} not delivered after ${MAX_ATTEMPTS} attempts`);
  }

  private targetUrl(): string {
    if (this.config.WEBHOOK_URL) return this.config.WEBHOOK_URL;
    // The port actually listened on, which differs from PORT when that is 0 (tests).
    const address = this.adapterHost.httpAdapter?.getHttpServer()?.address() as AddressInfo | string | null | undefined;
    const port = typeof address === 'object' && address ? address.port : this.config.PORT;
    return `http://127.0.0.1:${port}${WEBHOOK_PATH}`;
  }
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
}
