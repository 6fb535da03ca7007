import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module.js';
import { ProjectionsController } from './projections.controller.js';
import { ProjectionsModule } from './projections.module.js';

/** The read side of the payment events in the service: balances and receipts. */
@Module({ imports: [ProjectionsModule, OrdersModule], controllers: [ProjectionsController] })
export class EventsModule {}
