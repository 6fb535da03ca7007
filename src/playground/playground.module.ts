import fastifyStatic from '@fastify/static';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AbstractHttpAdapter, ApplicationConfig } from '@nestjs/core';
import { AbstractLoader, ExpressLoader, ServeStaticModule, type ServeStaticModuleOptions } from '@nestjs/serve-static';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * public/ at the project root: two levels up from this file, whether it runs as
 * src/playground/playground.module.ts (jest, tsx) or dist/playground/playground.module.js (production).
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/** A package's dist/, found where node finds the package (a workspace link, a hoisted install). */
function distOf(packageName: string): string {
  return join(dirname(createRequire(import.meta.url).resolve(`${packageName}/package.json`)), 'dist');
}

/**
 * The ES modules the page imports by bare specifier, mapped to these paths by the import map in
 * public/index.html: the client package (built, no step of its own) and openapi-fetch, its only
 * import, whose ESM build imports nothing.
 */
const MODULE_ROOTS: ServeStaticModuleOptions[] = [
  { rootPath: distOf('@idempotent-payments/client'), serveRoot: '/vendor/payments-client' },
  { rootPath: distOf('openapi-fetch'), serveRoot: '/vendor/openapi-fetch' },
];

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
      const fastify = httpAdapter.getInstance() as FastifyInstance;
      options.forEach(({ rootPath, serveRoot }, index) => {
        // reply.sendFile may be declared once per instance.
        void fastify.register(fastifyStatic, { root: rootPath!, prefix: serveRoot, wildcard: false, decorateReply: index === 0 });
      });
      return;
    }
    new ExpressLoader().register(httpAdapter, config, options);
  }
}

const serveStatic: DynamicModule = ServeStaticModule.forRoot(
  {
    rootPath: PUBLIC_DIR,
    serveRoot: '/',
    // Unknown API and health paths keep their problem-document 404s.
    exclude: ['/api/{*path}', '/health/{*path}'],
  },
  ...MODULE_ROOTS,
);

/** The checkout playground at `/`: plain files from public/ and the modules it imports, no build step. */
@Module({
  imports: [{ ...serveStatic, providers: [...(serveStatic.providers ?? []), { provide: AbstractLoader, useClass: AdapterAwareLoader }] }],
})
export class PlaygroundModule {}
