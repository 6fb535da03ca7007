import fastifyStatic from '@fastify/static';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AbstractHttpAdapter, ApplicationConfig } from '@nestjs/core';
import { AbstractLoader, ExpressLoader, ServeStaticModule, type ServeStaticModuleOptions } from '@nestjs/serve-static';
import type { FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';

/**
 * public/ at the project root: two levels up from this file, whether it runs as
 * src/playground/playground.module.ts (jest, tsx) or dist/playground/playground.module.js (production).
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/**
 * ServeStaticModule chooses its loader while the module graph is compiled. Under @nestjs/testing
 * the HTTP adapter only exists later (createNestApplication), so it would choose the no-op loader
 * and the in-process test apps would serve nothing. This one decides when the files are
 * registered (onModuleInit), when both NestFactory and the testing module have their adapter.
 * On Fastify it registers @fastify/static for the files alone: serve-static's FastifyLoader adds a
 * catch-all route that answers unknown paths with its own JSON, not the service's 404 problem.
 */
class AdapterAwareLoader extends AbstractLoader {
  register(httpAdapter: AbstractHttpAdapter | undefined, config: ApplicationConfig, options: ServeStaticModuleOptions[]): void {
    if (!httpAdapter) return; // an application context without HTTP: nothing to serve
    if (httpAdapter.getType() === 'fastify') {
      void (httpAdapter.getInstance() as FastifyInstance).register(fastifyStatic, { root: PUBLIC_DIR, wildcard: false });
      return;
    }
    new ExpressLoader().register(httpAdapter, config, options);
  }
}

const serveStatic: DynamicModule = ServeStaticModule.forRoot({
  rootPath: PUBLIC_DIR,
  serveRoot: '/',
  // Unknown API and health paths keep their problem-document 404s.
  exclude: ['/api/{*path}', '/health/{*path}'],
});

/** The checkout playground at `/`: plain files from public/, no build step. */
@Module({
  imports: [{ ...serveStatic, providers: [...(serveStatic.providers ?? []), { provide: AbstractLoader, useClass: AdapterAwareLoader }] }],
})
export class PlaygroundModule {}
