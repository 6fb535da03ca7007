import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { freePort, ManagedProcess, runToSuccess, TestDatabase, waitFor } from '../../../test/harness/index.js';
import { send, type Answer } from './http-client.js';
import { TWIN_ROUTES, type TwinAnswers } from './fixture/twin-routes.js';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const REPO_DIR = resolve(PACKAGE_DIR, '../..');
const TSC = resolve(REPO_DIR, 'node_modules/typescript/bin/tsc');

/** A `## title` section of the package's README, up to the next `## ` heading. */
function readmeSection(title: string): string {
  const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  const section = new RegExp(`^## ${title}\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(readme)?.[1];
  if (section === undefined) throw new Error(`README.md has no "## ${title}" section`);
  return section;
}

/** The README's quick start, as a user copies it. */
function quickStart(): string {
  const code = /```ts\n([\s\S]*?)```/.exec(readmeSection('Quick start'))?.[1];
  if (!code) throw new Error('README.md has no ts block under "## Quick start"');
  return code;
}

/**
 * What the README's install section tells a user to put in their project: its ```json blocks, the
 * tsconfig.json (the one with `compilerOptions`) and the package.json fields (the other).
 */
function installSettings(): { compilerOptions: Record<string, unknown>; packageJson: Record<string, unknown> } {
  const blocks = [...readmeSection('Install').matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]) as Record<string, unknown>);
  const tsconfig = blocks.find((block) => 'compilerOptions' in block);
  const packageJson = blocks.find((block) => !('compilerOptions' in block));
  if (!tsconfig || !packageJson) throw new Error('README.md\'s "## Install" needs a ```json tsconfig.json block (compilerOptions) and a package.json one');
  return { compilerOptions: tsconfig.compilerOptions as Record<string, unknown>, packageJson };
}

/**
 * The package tests' composition fixture, imported from the installed package instead of its
 * sources, and a program that asks each twin route on both adapters and prints the answers.
 */
function copyCompositionFixture(app: string): void {
  const testDir = import.meta.dirname;
  mkdirSync(join(app, 'fixture'), { recursive: true });
  for (const file of ['fixture/fixture.controller.ts', 'fixture/fixture-app.ts', 'fixture/twin-routes.ts', 'http-client.ts', 'gate.ts']) {
    const source = readFileSync(join(testDir, file), 'utf8')
      .replaceAll("'../../src/index.js'", "'@idempotent-payments/nestjs-idempotency'")
      .replaceAll("'../../src/storage/redis.index.js'", "'@idempotent-payments/nestjs-idempotency/redis'")
      .replaceAll("'../../src/storage/postgres.index.js'", "'@idempotent-payments/nestjs-idempotency/postgres'");
    writeFileSync(join(app, file), source);
  }
  writeFileSync(
    join(app, 'composition.ts'),
    `import { ADAPTERS, startFixtureApp } from './fixture/fixture-app.js';
import { askTwins, TWIN_ROUTES, type TwinAnswers } from './fixture/twin-routes.js';

const results: Record<string, TwinAnswers> = {};
for (const [adapterName, adapter] of ADAPTERS) {
  const fixture = await startFixtureApp(adapter, { kind: 'memory' });
  for (const [route, body] of TWIN_ROUTES) results[\`\${adapterName} \${route}\`] = await askTwins(fixture.url, route, body, \`key-\${route}\`);
  await fixture.close();
}
process.stdout.write(JSON.stringify(results));
`,
  );
}

/** Every file under a folder, as posix paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .map((path) => path.split('\\').join('/'))
    .sort();
}

/** Where a reference written in `file` (a path relative to the package root) points, or undefined when it leaves the package. */
function target(file: string, reference: string): string | undefined {
  const resolved = posix.normalize(posix.join(posix.dirname(file), reference));
  return resolved.startsWith('../') ? undefined : resolved;
}

/** Every string target of an `exports` map. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

/**
 * The package stands alone: packed as a release packs it, its tarball holds what a user needs and
 * nothing that points elsewhere; installed from it with its peers from the registry into a folder
 * outside the workspace, the README's quick start compiles with the README's settings and runs on
 * both adapters (the only change: the adapter and port come from the environment).
 */
describe('the packed package', () => {
  const app = mkdtempSync(join(tmpdir(), 'nestjs-idempotency-app-'));
  const unpacked = join(app, 'unpacked');
  let tarball = '';
  /** The tarball's files, as paths relative to the package root (what `npm install` puts in node_modules). */
  let shipped: string[] = [];
  const read = (file: string) => readFileSync(join(unpacked, 'package', file), 'utf8');

  beforeAll(async () => {
    // dist/ is built (from scratch) by `npm run build:packages` before jest starts, as `npm test` does;
    // --ignore-scripts skips prepack's rebuild, which would empty dist/ under the other test files
    // that import the package while this one runs.
    const packed = await runToSuccess('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], { cwd: PACKAGE_DIR, env: process.env });
    tarball = (JSON.parse(packed) as { filename: string }[])[0].filename;
    mkdirSync(unpacked);
    await runToSuccess('tar', ['-xzf', join(app, tarball), '-C', unpacked], { cwd: app, env: process.env });
    shipped = filesUnder(join(unpacked, 'package'));
  }, 120_000);

  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
  });

  describe('its tarball', () => {
    it("holds package.json, README.md and the repository's LICENSE", () => {
      expect(shipped).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
      expect(read('LICENSE')).toBe(readFileSync(join(REPO_DIR, 'LICENSE'), 'utf8'));
    });

    it('holds nothing but dist/, README.md, LICENSE and package.json', () => {
      expect(shipped.filter((file) => !file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file))).toEqual([]);
    });

    it('holds every file package.json exports, and the types of every dist .js', () => {
      const manifest = JSON.parse(read('package.json')) as { exports: unknown };
      const targets = exportTargets(manifest.exports).map((path) => posix.normalize(path));
      expect(targets.filter((path) => !shipped.includes(path))).toEqual([]);
      const scripts = shipped.filter((file) => file.startsWith('dist/') && file.endsWith('.js'));
      expect(scripts.length).toBeGreaterThan(0);
      expect(scripts.filter((file) => !shipped.includes(file.replace(/\.js$/, '.d.ts')))).toEqual([]);
    });

    it('holds no source map, import or sourceMappingURL that points at a file it does not hold', () => {
      const dangling: string[] = [];
      for (const file of shipped) {
        if (file.endsWith('.map')) {
          const map = JSON.parse(read(file)) as { sources?: string[]; sourceRoot?: string };
          for (const source of map.sources ?? []) {
            const points = target(file, posix.join(map.sourceRoot ?? '', source));
            if (!points || !shipped.includes(points)) dangling.push(`${file}: source ${source}`);
          }
        } else if (/\.(js|d\.ts)$/.test(file)) {
          const text = read(file);
          for (const [, url] of text.matchAll(/^\/\/# sourceMappingURL=(\S+)/gm)) {
            const points = target(file, url);
            if (!points || !shipped.includes(points)) dangling.push(`${file}: sourceMappingURL ${url}`);
          }
          for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
            const points = target(file, specifier);
            if (!points || !shipped.includes(points)) dangling.push(`${file}: import ${specifier}`);
          }
        }
      }
      expect(dangling).toEqual([]);
    });

    it('holds no text that cites a file outside the package (CONTRACT.md, ../shared, ../../)', () => {
      // LICENSE is the repository's MIT text, checked above ("… IN AN ACTION OF CONTRACT …").
      const citations = shipped
        .filter((file) => file !== 'LICENSE')
        .flatMap((file) =>
          read(file)
            .split('\n')
            .map((line, index) => ({ line, at: `${file}:${index + 1}` }))
            .filter(({ line }) => /\bCONTRACT\b|\.\.\/shared\b|\.\.\/\.\.\//.test(line))
            .map(({ line, at }) => `${at}: ${line.trim()}`),
        );
      expect(citations).toEqual([]);
    });

    it('is the file the README tells a user to install', () => {
      expect(readmeSection('Install')).toContain(`npm install ./${tarball}`);
    });
  });

  describe("the README's quick start, installed from the tarball", () => {
    const running: ManagedProcess[] = [];

    beforeAll(async () => {
      const { compilerOptions, packageJson } = installSettings();
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'quick-start', private: true, ...packageJson }));
      await runToSuccess(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
          join(app, tarball),
          '@nestjs/common@^12',
          '@nestjs/core@^12',
          '@nestjs/platform-express@^12',
          '@nestjs/platform-fastify@^12',
          'rxjs@^7',
          'reflect-metadata',
          '@types/node@^20',
          // What the composition fixture's app uses besides the package.
          '@nestjs/testing@^12',
          'class-transformer@^0.5',
          'class-validator@^0.15',
          'ioredis@^6',
          'pg@^8',
          '@types/pg@^8',
        ],
        { cwd: app, env: process.env },
      );
      const main = quickStart()
        .replace(
          "import { NestFactory } from '@nestjs/core';",
          "import { NestFactory } from '@nestjs/core';\nimport { ExpressAdapter } from '@nestjs/platform-express';\nimport { FastifyAdapter } from '@nestjs/platform-fastify';",
        )
        .replace(
          'NestFactory.create(AppModule)',
          "NestFactory.create(AppModule, process.env.ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false })",
        )
        .replace('app.listen(3000)', "app.listen(Number(process.env.PORT), '127.0.0.1')")
        // With DATABASE_URL, the README's PostgreSQL store instead of the default in-memory one.
        .replace(
          "import { Idempotent, IdempotencyModule } from '@idempotent-payments/nestjs-idempotency';",
          "import { Idempotent, IdempotencyModule } from '@idempotent-payments/nestjs-idempotency';\nimport { PostgresIdempotencyStore } from '@idempotent-payments/nestjs-idempotency/postgres';\nimport { Pool } from 'pg';",
        )
        .replace(
          'IdempotencyModule.forRoot()',
          'IdempotencyModule.forRoot(process.env.DATABASE_URL ? { store: new PostgresIdempotencyStore(new Pool({ connectionString: process.env.DATABASE_URL })) } : {})',
        );
      if (!main.includes('PostgresIdempotencyStore(new Pool')) throw new Error("the README's quick start no longer has the lines this test adapts");
      writeFileSync(join(app, 'main.ts'), main);
      copyCompositionFixture(app);
      // The README's compiler options as they are; `types` only for the lines above, which read process.env.
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { ...compilerOptions, types: ['node'] }, files: ['main.ts', 'composition.ts'] }),
      );
      await runToSuccess(process.execPath, [TSC, '-p', app], { cwd: app, env: process.env });
    }, 240_000);

    let database: TestDatabase;
    beforeAll(async () => {
      database = await TestDatabase.create();
    });

    afterAll(async () => {
      await Promise.all(running.map((child) => child.crash()));
      await database?.drop();
    });

    it.each([
      ['express', 'memory'],
      ['fastify', 'memory'],
      ['express', 'postgres'],
      ['fastify', 'postgres'],
    ])('charges, replays and refuses a reused key on %s with the %s store', async (adapter, store) => {
      const port = await freePort();
      const { host, port: databasePort, user, database: name } = database.connection;
      const databaseUrl = store === 'postgres' ? { DATABASE_URL: `postgres://${encodeURIComponent(user)}@${host}:${databasePort}/${name}` } : {};
      const child = ManagedProcess.spawn(process.execPath, ['main.js'], {
        name: `quick start on ${adapter} with the ${store} store`,
        cwd: app,
        env: { ...process.env, ADAPTER: adapter, PORT: String(port), ...databaseUrl },
      });
      running.push(child);
      const url = `http://127.0.0.1:${port}`;
      // One key per run: the PostgreSQL runs share a database.
      const key = `k-${adapter}-${store}`;
      // Any answer (a 404 here) means it listens; a connection refused is not ready yet.
      await waitFor('the quick start listens', () => send(url, '/', { method: 'GET' }).then(() => true), { timeoutMs: 10_000, process: child });
      const first = await send(url, '/payments', { key, body: { amount: 5 } });
      expect(first.status).toBe(201);
      expect(first.headers['idempotency-cached']).toBe('false');
      const replay = await send(url, '/payments', { key, body: { amount: 5 } });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
      const reused = await send(url, '/payments', { key, body: { amount: 6 } });
      expect(reused.status).toBe(422);
      expect(reused.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(reused.json.code).toBe('IDEMPOTENCY_KEY_REUSED');
      await child.stop();
    });

    it("answers what the app answers without the layer, first time and on replay, in the fixture app with the app's own interceptors and filters", async () => {
      const results = JSON.parse(await runToSuccess(process.execPath, ['composition.js'], { cwd: app, env: process.env })) as Record<string, TwinAnswers>;
      expect(Object.keys(results)).toHaveLength(2 * TWIN_ROUTES.length);
      for (const [name, { twin, first, replay }] of Object.entries(results)) {
        const wire = (answer: Answer) => [name, answer.status, answer.headers['content-type'], answer.text];
        expect(wire(first)).toEqual(wire(twin));
        expect(wire(replay)).toEqual(wire(first));
        expect([name, first.headers['idempotency-cached'], replay.headers['idempotency-cached']]).toEqual([name, 'false', 'true']);
      }
    });
  });
});
