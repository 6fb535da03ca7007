import { describe, expect, it } from '@jest/globals';
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

/** No Docker engine runs here, so the container files are linted for what they must promise. */
describe('container files', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, any>; volumes: Record<string, unknown> };
  const instructions = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
  const named = (keyword: string) => instructions.filter((instruction) => instruction.keyword === keyword);
  const runtimeStage = instructions.slice(instructions.findLastIndex((instruction) => instruction.keyword === 'FROM'));

  it('runs Redis with AOF on a named volume, with a healthcheck', () => {
    const redis = compose.services.redis;
    expect(optionValue(redis.command, '--appendonly')).toBe('yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs two payments replicas in production mode behind one published port', () => {
    const payments = compose.services.payments;
    expect(payments.deploy.replicas).toBe(2);
    expect(payments.ports).toBeUndefined();
    expect(payments.environment).toMatchObject({ NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379' });
    expect(payments.environment.API_KEYS).toBeTruthy();
    const [form, ...probe] = payments.healthcheck.test as string[];
    expect(form).toBe('CMD');
    expect(probe.find((arg) => arg.includes('http://'))).toMatch(/http:\/\/127\.0\.0\.1:3000\/health\/ready'/);
    expect(payments.depends_on.redis.condition).toBe('service_healthy');
    expect(compose.services.proxy.ports).toEqual(['3000:80']);
    // nginx's upstream: its `server` directives are the replicas' service name and port.
    const upstream = /upstream payments \{([^}]*)\}/.exec(readFileSync('deploy/nginx.conf', 'utf8'))![1];
    expect([...upstream.matchAll(/^\s*server\s+([^;\s]+)/gm)].map((match) => match[1])).toEqual(['payments:3000']);
  });

  it('builds in stages, installs production dependencies only, runs as a non-root user with a healthcheck', () => {
    expect(named('FROM')).toHaveLength(2);
    expect(runtimeStage.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args)).toEqual([
      expect.stringMatching(/^npm ci --omit=dev\b/),
    ]);
    expect(runtimeStage.find((instruction) => instruction.keyword === 'COPY' && instruction.flags.includes('--from=build'))?.args).toBe('/app/dist ./dist');
    expect(runtimeStage.find((instruction) => instruction.keyword === 'COPY' && instruction.args.startsWith('public '))).toBeDefined();
    expect(named('USER').map((instruction) => instruction.args)).toEqual(['node']);
    // The user is set before the process starts, in the stage that runs it.
    expect(runtimeStage.findIndex((instruction) => instruction.keyword === 'USER')).toBeLessThan(runtimeStage.findIndex((instruction) => instruction.keyword === 'CMD'));
    const [healthcheck] = named('HEALTHCHECK');
    expect(JSON.parse(healthcheck!.args.replace(/^CMD\s+/, ''))).toEqual(['node', '-e', expect.stringContaining("/health')")]);
    expect(named('CMD').map((instruction) => instruction.exec)).toEqual([['node', 'dist/main.js']]);
  });
});
