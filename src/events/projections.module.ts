import { Module } from '@nestjs/common';
import { ProjectionsRepository } from './projections.repository.js';

/** The projections' storage, shared by the routes that read them and the worker that writes them. */
@Module({ providers: [ProjectionsRepository], exports: [ProjectionsRepository] })
export class ProjectionsModule {}
