import { describe, expect, it } from '@jest/globals';
import { parse as parseNginx } from 'nginx-conf';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

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
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const http = directive(readNginxConf('deploy/nginx.conf'), 'http');
  const servers = directives(http, 'server');
  const serverListeningOn = (port: string) => {
    const server = servers.find((candidate) => directive(candidate, 'listen')?.value === port);
    if (!server) throw new Error(`no nginx server listens on ${port}`);
    return server;
  };

  it('runs Redis with AOF on a named volume, with a healthcheck', () => {
    const redis = compose.services.redis;
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck.test).toBeDefined();
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
    for (const name of ['payments', 'redis']) {
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
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main.js"\]$/m);
    expect(dockerfile).toMatch(/COPY public/);
  });
});
