import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, ManagedProcess, runToSuccess } from '../../../tools/process/index.js';
import { send } from './http-client.js';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const TSC = resolve(PACKAGE_DIR, '../../node_modules/typescript/bin/tsc');

/** The README's quick start, as a user copies it. */
function quickStart(): string {
  const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  const code = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('README.md has no ts block under "## Quick start"');
  return code;
}

/**
 * The package stands alone: packed, installed from its tarball with its peers from the registry
 * into a folder outside the workspace, and the README's quick start compiled and run on both
 * adapters (the only change: the adapter and port come from the environment).
 */
describe('the packed package', () => {
  const app = mkdtempSync(join(tmpdir(), 'nestjs-idempotency-app-'));
  const running: ManagedProcess[] = [];

  beforeAll(async () => {
    const tarball = (await runToSuccess('npm', ['pack', '--silent', '--pack-destination', app], { cwd: PACKAGE_DIR, env: process.env }))
      .trim()
      .split('\n')
      .pop()!;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'quick-start', private: true, type: 'module' }));
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
      ],
      { cwd: app, env: process.env },
    );
    const main = quickStart()
      .replace(
        "import { NestFactory } from '@nestjs/core';",
        "import 'reflect-metadata';\nimport { NestFactory } from '@nestjs/core';\nimport { ExpressAdapter } from '@nestjs/platform-express';\nimport { FastifyAdapter } from '@nestjs/platform-fastify';",
      )
      .replace(
        'NestFactory.create(AppModule)',
        "NestFactory.create(AppModule, process.env.ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false })",
      )
      .replace('app.listen(3000)', "app.listen(Number(process.env.PORT), '127.0.0.1')");
    writeFileSync(join(app, 'main.ts'), main);
    const compilerOptions = {
      module: 'nodenext',
      target: 'es2023',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: true,
      types: ['node'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
    await runToSuccess(process.execPath, [TSC, '-p', app], { cwd: app, env: process.env });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(running.map((child) => child.crash()));
    rmSync(app, { recursive: true, force: true });
  });

  it.each(['express', 'fastify'])('charges, replays and refuses a reused key on %s', async (adapter) => {
    const port = await freePort();
    const child = ManagedProcess.spawn(process.execPath, ['main.js'], {
      name: `quick start on ${adapter}`,
      cwd: app,
      env: { ...process.env, ADAPTER: adapter, PORT: String(port) },
    });
    running.push(child);
    const url = `http://127.0.0.1:${port}`;
    let first = await send(url, '/payments', { key: 'k1', body: { amount: 5 } }).catch(() => undefined);
    for (let tries = 0; !first && tries < 100; tries++) {
      await new Promise((done) => setTimeout(done, 100));
      first = await send(url, '/payments', { key: 'k1', body: { amount: 5 } }).catch(() => undefined);
    }
    if (!first) throw new Error(`the quick start did not answer:\n${child.logs}`);
    expect(first.status).toBe(201);
    expect(first.headers['idempotency-cached']).toBe('false');
    const replay = await send(url, '/payments', { key: 'k1', body: { amount: 5 } });
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(first.text);
    const reused = await send(url, '/payments', { key: 'k1', body: { amount: 6 } });
    expect(reused.status).toBe(422);
    expect(reused.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(reused.json.code).toBe('IDEMPOTENCY_KEY_REUSED');
    await child.stop();
  });
});
