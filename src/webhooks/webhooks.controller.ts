import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/index.js';
import { ApiProblemResponses } from '../common/openapi.js';
import { AppConfig } from '../config/index.js';
import { consumedMarker } from '../outbox/consumed-marker.js';
import { eventsUnsupported, supportsEvents } from '../outbox/standalone-store.js';
import { eventDuplicatesDropped } from '../metrics/event-duplicates.channel.js';
import { OrdersService } from '../orders/orders.service.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import { GATEWAY_STATUS_OF, GatewayWebhook, WebhookAck } from '../gateway/gateway-webhook.js';
import { WebhookSignatureGuard } from './webhook-signature.guard.js';
import { SIGNATURE_HEADER, WEBHOOK_PATH } from '../gateway/webhook-signature.js';

/**
 * The gateway's events about its charges, delivered at least once and in any order. Each is
 * applied once (its id is marked consumed in the same script that records its status) and never
 * moves an order's gateway status backwards. Every accepted delivery, duplicate or not, answers
 * 200, so the gateway stops sending it.
 */
@ApiTags('webhooks')
@Public()
@Controller('webhooks')
export class WebhooksController {
  private readonly enabled: boolean;

  constructor(
    private readonly orders: OrdersService,
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) store: RedisClient,
  ) {
    this.enabled = supportsEvents(store);
  }

  @Post('gateway')
  @HttpCode(200)
  @UseGuards(WebhookSignatureGuard)
  @ApiOperation({ operationId: 'receiveGatewayWebhook', summary: "The payment gateway's signed events (charge.pending, charge.succeeded)" })
  @ApiHeader({ name: SIGNATURE_HEADER, required: true, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with WEBHOOK_SECRET' })
  @ApiOkResponse({ type: WebhookAck })
  @ApiProblemResponses(400, 401, 413, 415, 501, 503)
  async receive(@Body() event: GatewayWebhook): Promise<WebhookAck> {
    if (!this.enabled) throw eventsUnsupported();
    const marker = consumedMarker(WEBHOOK_PATH, event.id, this.config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000);
    const result = await this.orders.recordGatewayStatus(event.data.orderId, GATEWAY_STATUS_OF[event.type], event.id, marker);
    if (result === 'duplicate') eventDuplicatesDropped.publish({ source: 'webhook' });
    return { eventId: event.id, result };
  }
}
