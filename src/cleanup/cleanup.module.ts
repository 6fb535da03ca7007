import { Module } from '@nestjs/common';
import { CleanupController } from './cleanup.controller.js';
import { CleanupService } from './cleanup.service.js';

/** The scheduled cleanup in each instance of the service, and its admin route. */
@Module({ providers: [CleanupService], controllers: [CleanupController] })
export class CleanupModule {}
