import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/index.js';
import { ApiProblemResponses } from '../common/openapi.js';
import { eventDuplicatesDropped } from '../metrics/event-duplicates.channel.js';
import { OrdersService } from '../orders/orders.service.js';
import { GATEWAY_STATUS_OF, GatewayWebhook, WebhookAck } from '../gateway/gateway-webhook.js';
import { WebhookSignatureGuard } from './webhook-signature.guard.js';
import { SIGNATURE_HEADER } from '../gateway/webhook-signature.js';

/**
 * The gateway's events about its charges, delivered at least once and in any order. Each is
 * applied once (its delivery is recorded by id in the statement that records its status) and never
 * moves an order's gateway status backwards. Every accepted delivery, duplicate or not, answers
 * 200, so the gateway stops sending it.
 */
@ApiTags('webhooks')
@Public()
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly orders: OrdersService) {}

  @Post('gateway')
  @HttpCode(200)
  @UseGuards(WebhookSignatureGuard)
  @ApiOperation({ operationId: 'receiveGatewayWebhook', summary: "The payment gateway's signed events (charge.pending, charge.succeeded)" })
  @ApiHeader({ name: SIGNATURE_HEADER, required: true, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with WEBHOOK_SECRET' })
  @ApiOkResponse({ type: WebhookAck })
  @ApiProblemResponses(400, 401, 413, 415, 503)
  async receive(@Body() event: GatewayWebhook): Promise<WebhookAck> {
    const result = await this.orders.recordGatewayStatus(event.data.orderId, GATEWAY_STATUS_OF[event.type], event.id, event.type);
    if (result === 'duplicate') eventDuplicatesDropped.publish({ source: 'webhook' });
    return { eventId: event.id, result };
  }
}
