import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, runToSuccess, ServiceProcess } from '../harness/index.js';
import { fileBrokerUrl } from '../support/broker.js';
import { fileDatabaseUrl } from '../support/database.js';
import { startRedis } from '../support/redis.js';

const REPO_DIR = resolve(import.meta.dirname, '../..');
const PACKAGE_DIR = join(REPO_DIR, 'packages/payments-client');
const TSC = join(REPO_DIR, 'node_modules/typescript/bin/tsc');
const API_KEY = 'sk_test_payments_client_package';
const ADMIN_TOKEN = 'admin-token-payments-client-package';

/** The README's ```ts blocks, in order: a user's program that copies them all. */
function readmeCode(): string {
  const blocks = [...readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  if (blocks.length === 0) throw new Error('README.md has no ts block');
  return blocks.join('\n');
}

/**
 * What a user of the installed package runs (plain ESM, no build step): a charge, the same charge
 * again with its key, that key with another body from this client and from a new one, the order the
 * key made through the typed API, and a charge to a port nobody listens on.
 */
const PROGRAM = `import { IdempotencyKeyReusedError, PaymentNotSettledError, PaymentRejectedError, PaymentsClient } from '@idempotent-payments/client';

const { BASE_URL, API_KEY, UNREACHABLE_URL } = process.env;
const client = new PaymentsClient({ baseUrl: BASE_URL, apiKey: API_KEY });
const body = { amount: 1999, currency: 'EUR', customerId: 'cus_42' };
const key = crypto.randomUUID();
const describe = (error, type) => ({ [type.name]: error instanceof type, ...error, message: error.message });

const first = await client.charge(body, { idempotencyKey: key });
const again = await client.charge(body, { idempotencyKey: key });
const reusedHere = await client.charge({ ...body, amount: 2999 }, { idempotencyKey: key }).catch((error) => describe(error, IdempotencyKeyReusedError));
const reusedElsewhere = await new PaymentsClient({ baseUrl: BASE_URL, apiKey: API_KEY })
  .charge({ ...body, amount: 2999 }, { idempotencyKey: key })
  .catch((error) => describe(error, PaymentRejectedError));
const orders = await client.api.GET('/api/orders', { params: { query: { idempotencyKey: key } } });
const unreachable = await new PaymentsClient({ baseUrl: UNREACHABLE_URL, maxAttempts: 2, backoff: { baseMs: 1, maxMs: 1 } })
  .charge(body)
  .catch((error) => describe(error, PaymentNotSettledError));
// undefined (no status: the attempts got no answer) as null, which JSON keeps.
process.stdout.write(JSON.stringify({ key, first, again, reusedHere, reusedElsewhere, orders: orders.data, unreachable }, (_key, value) => value ?? null));
`;

/**
 * The client package stands alone: packed as a release packs it, its tarball holds the built code,
 * its types, README and LICENSE only; installed from it into a folder outside the workspace (its
 * dependency from the registry), the README's code type-checks against its types and a plain ESM
 * program charges the built service through it.
 */
describe('the packed client package', () => {
  const app = mkdtempSync(join(tmpdir(), 'payments-client-app-'));
  const installed = join(app, 'node_modules/@idempotent-payments/client');
  let tarball = '';
  /** The tarball's files, relative to the package root. */
  let shipped: string[] = [];

  beforeAll(async () => {
    // dist/ is built by `npm run build:packages` before jest starts; --ignore-scripts skips prepack's
    // rebuild, which would empty dist/ under the test files that import the package meanwhile.
    const packed = await runToSuccess('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], { cwd: PACKAGE_DIR, env: process.env });
    const [{ filename, files }] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    tarball = filename;
    shipped = files.map((file) => file.path).sort();
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'client-user', private: true, type: 'module' }));
    await runToSuccess('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(app, tarball), '@types/node@^20'], {
      cwd: app,
      env: process.env,
    });
  }, 180_000);

  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
  });

  describe('its tarball', () => {
    it("holds package.json, README.md and the repository's LICENSE", () => {
      expect(shipped).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
      expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO_DIR, 'LICENSE'), 'utf8'));
    });

    it('holds nothing else but dist .js files, each with its .d.ts (no sources, maps or tests)', () => {
      const dist = shipped.filter((file) => !['package.json', 'README.md', 'LICENSE'].includes(file));
      expect(dist.filter((file) => !/^dist\/[\w-]+\.(js|d\.ts)$/.test(file))).toEqual([]);
      const scripts = dist.filter((file) => file.endsWith('.js'));
      expect(scripts).toContain('dist/index.js');
      expect(scripts.filter((file) => !dist.includes(file.replace(/\.js$/, '.d.ts')))).toEqual([]);
    });

    it('is the file the README tells a user to install', () => {
      expect(readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8')).toContain(`npm install ./${tarball}`);
    });
  });

  describe('installed from the tarball', () => {
    it("type-checks the README's code against the package's types, which reject a path the API does not have", async () => {
      const consumer = `${readmeCode()}
// @ts-expect-error: the typed API knows its paths
void payments.api.GET('/api/no-such-route');
`;
      writeFileSync(join(app, 'consumer.ts'), consumer);
      // Strict, and the libraries' declarations checked too (no skipLibCheck); Node's globals only, no DOM.
      const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', strict: true, noEmit: true, types: ['node'] };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      await runToSuccess(process.execPath, [TSC, '-p', app], { cwd: app, env: process.env });
    }, 120_000);

    describe('against the built service', () => {
      let redis: Awaited<ReturnType<typeof startRedis>>;
      let service: ServiceProcess;

      beforeAll(async () => {
        redis = await startRedis();
        service = await ServiceProcess.start({
          REDIS_URL: redis.url,
          DATABASE_URL: await fileDatabaseUrl(),
          BROKER_URL: await fileBrokerUrl(),
          API_KEYS: `merchantA:${API_KEY}`,
          ADMIN_TOKEN,
          WEBHOOK_DELIVERY: 'false',
        });
      });

      afterAll(async () => {
        await service?.stop();
        await redis?.stop();
      });

      it('charges once per key: a replay for the same body, 422 IDEMPOTENCY_KEY_REUSED for another, one gateway charge', async () => {
        const env = { ...process.env, BASE_URL: service.baseUrl, API_KEY, UNREACHABLE_URL: `http://127.0.0.1:${await freePort()}` };
        writeFileSync(join(app, 'program.js'), PROGRAM);
        const run = JSON.parse(await runToSuccess(process.execPath, ['program.js'], { cwd: app, env }));

        expect(run.first).toEqual({
          charge: expect.objectContaining({ id: expect.stringMatching(/^ch_/), amount: 1999, status: 'succeeded' }),
          attempts: 1,
          replayed: false,
        });
        expect(run.again).toEqual({ charge: run.first.charge, attempts: 1, replayed: true });
        expect(run.reusedHere).toMatchObject({ IdempotencyKeyReusedError: true, code: 'IDEMPOTENCY_KEY_REUSED', idempotencyKey: run.key, attempts: 0 });
        expect(run.reusedElsewhere).toMatchObject({
          PaymentRejectedError: true,
          status: 422,
          code: 'IDEMPOTENCY_KEY_REUSED',
          problem: expect.objectContaining({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' }),
          idempotencyKey: run.key,
          attempts: 1,
        });
        expect(run.orders.data).toEqual([expect.objectContaining({ id: run.first.charge.orderId, idempotencyKey: run.key, status: 'PAID' })]);
        expect(run.unreachable).toMatchObject({ PaymentNotSettledError: true, reason: 'attempts', lastStatus: null, attempts: 2 });

        // The ground truth, asked by the test itself: the gateway charged the key once.
        const ledger = await fetch(`${service.baseUrl}/api/admin/provider/charges?idempotencyKey=${encodeURIComponent(run.key)}`, {
          headers: { 'X-Admin-Token': ADMIN_TOKEN },
        });
        expect(ledger.status).toBe(200);
        expect(((await ledger.json()) as { charges: { id: string }[] }).charges.map((charge) => charge.id)).toEqual([run.first.charge.id]);
      });
    });
  });
});
