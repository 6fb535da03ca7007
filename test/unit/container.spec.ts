import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** No Docker engine runs here, so the container files are linted for what they must promise. */
describe('container files', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, any>; volumes: Record<string, unknown> };
  const dockerfile = readFileSync('Dockerfile', 'utf8');

  it('runs Redis with AOF on a named volume, with a healthcheck', () => {
    const redis = compose.services.redis;
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck.test).toBeDefined();
  });

  it('runs two payments replicas in production mode behind one published port', () => {
    const payments = compose.services.payments;
    expect(payments.deploy.replicas).toBe(2);
    expect(payments.ports).toBeUndefined();
    expect(payments.environment).toMatchObject({ NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379' });
    expect(payments.environment.API_KEYS).toBeTruthy();
    expect(payments.healthcheck.test.join(' ')).toContain('/health/ready');
    expect(payments.depends_on.redis.condition).toBe('service_healthy');
    expect(compose.services.proxy.ports).toEqual(['3000:80']);
    expect(readFileSync('deploy/nginx.conf', 'utf8')).toContain('server payments:3000');
  });

  it('builds in stages, installs production dependencies only, runs as a non-root user with a healthcheck', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main.js"\]$/m);
    expect(dockerfile).toMatch(/COPY public/);
  });
});
