import { Module } from '@nestjs/common';
import { PaymentsReconcilerModule } from '../payments/payments-reconciler.module.js';
import { EventsWorker } from './events.worker.js';
import { ProjectionsModule } from './projections.module.js';

/**
 * The consumer of the payment events and the reconciler of orders nobody finished: in the service
 * (EVENTS_WORKER=true) or alone (src/worker.ts).
 */
@Module({ imports: [ProjectionsModule, PaymentsReconcilerModule], providers: [EventsWorker] })
export class EventsWorkerModule {}
