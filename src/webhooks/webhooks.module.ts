import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module.js';
import { WebhookSignatureGuard } from './webhook-signature.guard.js';
import { WebhooksController } from './webhooks.controller.js';

@Module({ imports: [OrdersModule], controllers: [WebhooksController], providers: [WebhookSignatureGuard] })
export class WebhooksModule {}
