import { Module } from '@nestjs/common';
import { EventsWorker } from './events.worker.js';
import { ProjectionsModule } from './projections.module.js';

/** The consumer of the payment events: in the service (EVENTS_WORKER=true) or alone (src/worker.ts). */
@Module({ imports: [ProjectionsModule], providers: [EventsWorker] })
export class EventsWorkerModule {}
