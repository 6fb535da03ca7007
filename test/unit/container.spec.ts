import { describe, expect, it } from '@jest/globals';
import { parse as parseNginx } from 'nginx-conf';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Instruction {
  keyword: string;
  /** The arguments as written, continuation lines joined. */
  args: string;
  /** Flags before the arguments proper (`--from=build`, `--interval=15s`). */
  flags: string[];
  /** The JSON (exec) form of the arguments, when they are one. */
  exec?: string[];
}

/** Dockerfile instructions: comments and blank lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '');
  return logical.map((line) => {
    const [, keyword, rest] = /^\s*(\S+)\s*(.*)$/.exec(line)!;
    const flagPart = /^(--\S+\s+)*/.exec(rest)![0];
    const flags = flagPart.split(/\s+/).filter(Boolean);
    const args = rest.slice(flagPart.length).trim();
    return { keyword: keyword.toUpperCase(), args, flags, exec: args.startsWith('[') ? (JSON.parse(args) as string[]) : undefined };
  });
}

/** The value after `name` in an argument list (`--appendonly yes`). */
const optionValue = (args: string[], name: string) => args[args.indexOf(name) + 1];

/** A directive of nginx.conf (name, value), with its children when it is a block; nginx-conf does not export the type. */
type NginxParseTreeNode = NonNullable<Parameters<Parameters<typeof parseNginx>[1]>[1]>;

/** The parsed nginx.conf. */
function readNginxConf(path: string): NginxParseTreeNode {
  let tree: NginxParseTreeNode | undefined;
  parseNginx(readFileSync(path, 'utf8'), (error, parsed) => {
    if (error) throw error;
    tree = parsed;
  });
  if (!tree) throw new Error(`${path} did not parse`);
  return tree;
}

const directives = (block: NginxParseTreeNode, name: string) => (block.children ?? []).filter((child) => child.name === name);
const directive = (block: NginxParseTreeNode, name: string) => directives(block, name)[0];

/**
 * The location nginx picks for a path (exact `=`, then the longest prefix unless it is `^~`, then the
 * first matching regex, else that prefix), and whether it proxies to the service.
 */
function proxies(server: NginxParseTreeNode, path: string): boolean {
  const locations = directives(server, 'location').map((location) => {
    const [modifier, pattern] = location.value.includes(' ') ? location.value.split(/\s+/, 2) : ['', location.value];
    return { modifier, pattern, location };
  });
  const exact = locations.find(({ modifier, pattern }) => modifier === '=' && pattern === path);
  const prefixes = locations
    .filter(({ modifier, pattern }) => (modifier === '' || modifier === '^~') && path.startsWith(pattern))
    .sort((a, b) => b.pattern.length - a.pattern.length);
  const regex = locations.find(
    ({ modifier, pattern }) => (modifier === '~' || modifier === '~*') && new RegExp(pattern, modifier === '~*' ? 'i' : '').test(path),
  );
  const chosen = exact ?? (prefixes[0]?.modifier === '^~' ? prefixes[0] : (regex ?? prefixes[0]));
  return chosen !== undefined && directive(chosen.location, 'proxy_pass')?.value === 'http://payments';
}

/** No Docker engine runs here, so the container files are linted for what they must promise. */
describe('container files', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
    services: Record<string, any>;
    volumes: Record<string, unknown>;
    networks: Record<string, any>;
  };
  const instructions = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
  const named = (keyword: string) => instructions.filter((instruction) => instruction.keyword === keyword);
  const runtimeStage = instructions.slice(instructions.findLastIndex((instruction) => instruction.keyword === 'FROM'));
  const http = directive(readNginxConf('deploy/nginx.conf'), 'http');
  const servers = directives(http, 'server');
  const serverListeningOn = (port: string) => {
    const server = servers.find((candidate) => directive(candidate, 'listen')?.value === port);
    if (!server) throw new Error(`no nginx server listens on ${port}`);
    return server;
  };

  it('runs Redis with AOF on a named volume, with a healthcheck', () => {
    const redis = compose.services.redis;
    expect(optionValue(redis.command, '--appendonly')).toBe('yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs PostgreSQL 15 or later on a named volume, with a pg_isready healthcheck; the replicas wait for it and use its database', () => {
    const postgres = compose.services.postgres;
    const [major] = (/^postgres:(\d+)/.exec(postgres.image) ?? []).slice(1).map(Number);
    expect(major).toBeGreaterThanOrEqual(15);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toContain('postgres-data');
    expect(postgres.healthcheck.test.slice(0, 2)).toEqual(['CMD', 'pg_isready']);
    expect(postgres.ports).toBeUndefined();
    const payments = compose.services.payments;
    expect(payments.depends_on.postgres.condition).toBe('service_healthy');
    const url = new URL(payments.environment.DATABASE_URL);
    expect({ host: url.host, database: url.pathname.slice(1), user: url.username }).toEqual({
      host: 'postgres:5432',
      database: postgres.environment.POSTGRES_DB,
      user: postgres.environment.POSTGRES_USER,
    });
  });

  it('runs RabbitMQ on a named volume, with a diagnostics healthcheck; the replicas wait for it and publish to it', () => {
    const rabbitmq = compose.services.rabbitmq;
    expect(rabbitmq.image).toMatch(/^rabbitmq:(3|4)[.-]/);
    expect(rabbitmq.volumes).toContain('rabbitmq-data:/var/lib/rabbitmq');
    expect(Object.keys(compose.volumes)).toContain('rabbitmq-data');
    expect(rabbitmq.healthcheck.test).toEqual(['CMD', 'rabbitmq-diagnostics', '-q', 'ping']);
    expect(rabbitmq.ports).toBeUndefined();
    const payments = compose.services.payments;
    expect(payments.depends_on.rabbitmq.condition).toBe('service_healthy');
    const url = new URL(payments.environment.BROKER_URL);
    expect({ protocol: url.protocol, host: url.host, user: url.username }).toEqual({
      protocol: 'amqp:',
      host: 'rabbitmq:5672',
      user: rabbitmq.environment.RABBITMQ_DEFAULT_USER,
    });
  });

  it('runs two payments replicas in production mode behind nginx, on an internal network', () => {
    const payments = compose.services.payments;
    expect(payments.deploy.replicas).toBe(2);
    expect(payments.ports).toBeUndefined();
    expect(payments.environment).toMatchObject({ NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379' });
    expect(payments.environment.API_KEYS).toBeTruthy();
    expect(payments.env_file).toEqual([{ path: '.env', required: false }]);
    expect(payments.healthcheck.test.join(' ')).toContain('/health/ready');
    expect(payments.depends_on.redis.condition).toBe('service_healthy');
    for (const name of ['payments', 'redis', 'postgres', 'rabbitmq']) {
      expect(compose.services[name].networks.every((network: string) => compose.networks[network].internal === true)).toBe(true);
    }
    expect(compose.services.proxy.ports).toEqual(['3000:80', '127.0.0.1:8080:8080']);
    const upstream = directives(http, 'upstream').find((block) => block.value === 'payments')!;
    expect(directive(upstream, 'server').value.split(/\s+/)[0]).toBe('payments:3000');
  });

  it('re-resolves the replicas: nginx asks DNS again after a few seconds', () => {
    const [, valid] = /\bvalid=(\d+)s\b/.exec(directive(http, 'resolver')?.value ?? '') ?? [];
    expect(Number(valid)).toBeGreaterThan(0);
    expect(Number(valid)).toBeLessThanOrEqual(10);
    const upstream = directives(http, 'upstream').find((block) => block.value === 'payments')!;
    expect(directive(upstream, 'server').value.split(/\s+/)).toContain('resolve');
    expect(directive(upstream, 'zone')).toBeDefined();
    const [major, minor] = (/^nginx:(\d+)\.(\d+)/.exec(compose.services.proxy.image) ?? []).slice(1).map(Number);
    expect(major * 100 + minor).toBeGreaterThanOrEqual(128); // "resolve" in upstream is open source from 1.27.3
  });

  it('publishes /api without /api/admin, and /health; admin, docs and metrics only on the operators port', () => {
    const publicServer = serverListeningOn('80');
    const operators = serverListeningOn('8080');
    for (const path of ['/api/payments/charge', '/api/orders', '/api/orders/ord_1', '/api/customers/c/balance', '/api/webhooks/gateway', '/health']) {
      expect({ path, proxied: proxies(publicServer, path) }).toEqual({ path, proxied: true });
    }
    const internal = [
      '/api/admin/payment-behavior',
      '/api/admin/provider/charges',
      '/api/admin',
      '/API/Admin/payment-behavior',
      '/metrics',
      '/docs',
      '/docs/openapi.json',
      '/',
      '/index.html',
    ];
    for (const path of internal) {
      expect({ path, proxied: proxies(publicServer, path) }).toEqual({ path, proxied: false });
      expect({ path, proxied: proxies(operators, path) }).toEqual({ path, proxied: true });
    }
  });

  it('gives the replicas a stop grace period longer than the drain and the shutdown bound', () => {
    const { environment, stop_grace_period: grace } = compose.services.payments;
    const seconds = Number(/^(\d+)s$/.exec(grace)?.[1]);
    expect(seconds * 1000).toBeGreaterThan(Number(environment.SHUTDOWN_DRAIN_MS) + Number(environment.SHUTDOWN_TIMEOUT_MS));
  });

  it('builds in stages on the current LTS, installs production dependencies only, runs as a non-root user with a healthcheck', () => {
    expect(named('FROM')).toHaveLength(2);
    expect(named('ARG').map((instruction) => instruction.args)).toContainEqual(expect.stringMatching(/^NODE_IMAGE=node:24-/));
    expect(runtimeStage.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args)).toEqual([
      expect.stringMatching(/^npm ci --omit=dev\b/),
    ]);
    const copiedFromBuild = runtimeStage
      .filter((instruction) => instruction.keyword === 'COPY' && instruction.flags.includes('--from=build'))
      .map((instruction) => instruction.args);
    // The service, the idempotency package it imports and the client package the playground loads (npm workspaces), all compiled.
    expect(copiedFromBuild).toEqual([
      '/app/packages/nestjs-idempotency/dist ./packages/nestjs-idempotency/dist',
      '/app/packages/payments-client/dist ./packages/payments-client/dist',
      '/app/dist ./dist',
    ]);
    // Their manifests come before the install, which links the workspaces where node_modules finds them and installs their dependencies.
    const install = runtimeStage.findIndex((instruction) => instruction.keyword === 'RUN');
    for (const workspace of ['nestjs-idempotency', 'payments-client']) {
      const manifest = runtimeStage.findIndex(
        (instruction) => instruction.keyword === 'COPY' && instruction.args === `packages/${workspace}/package.json ./packages/${workspace}/`,
      );
      expect({ workspace, manifestBeforeInstall: manifest >= 0 && manifest < install }).toEqual({ workspace, manifestBeforeInstall: true });
    }
    expect(runtimeStage.find((instruction) => instruction.keyword === 'COPY' && instruction.args.startsWith('public '))).toBeDefined();
    // dist/database/migrations.js applies ../../migrations at start.
    expect(runtimeStage.find((instruction) => instruction.keyword === 'COPY' && instruction.args === 'migrations ./migrations')).toBeDefined();
    expect(named('USER').map((instruction) => instruction.args)).toEqual(['node']);
    // The user is set before the process starts, in the stage that runs it.
    expect(runtimeStage.findIndex((instruction) => instruction.keyword === 'USER')).toBeLessThan(
      runtimeStage.findIndex((instruction) => instruction.keyword === 'CMD'),
    );
    const [healthcheck] = named('HEALTHCHECK');
    expect(JSON.parse(healthcheck!.args.replace(/^CMD\s+/, ''))).toEqual(['node', '-e', expect.stringContaining("/health')")]);
    expect(named('CMD').map((instruction) => instruction.exec)).toEqual([['node', 'dist/main.js']]);
  });
});
