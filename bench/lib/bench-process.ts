import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../scripts/lib/redis-server.js';

/** What bench/probe.mjs answers: cumulative figures of the process; the bench diffs two of them. */
export interface ProbeSample {
  elu: { idle: number; active: number };
  /** process.cpuUsage() user + system, µs, all threads. */
  cpuUs: number;
  rss: number;
  heapUsed: number;
  /** Round trips the process made to Redis so far, by command name; a MULTI/EXEC block is one ("multi"). */
  redis: Record<string, number>;
  /** Commands sent inside MULTI/EXEC blocks, by name. */
  redisTransactions: Record<string, number>;
  /** Socket writes to Redis: a command alone, or a (auto-)pipeline flush. */
  redisWrites: number;
  /** Monotonic clock in µs, the clock V8's CPU profiles are stamped with. */
  monotonicUs: number;
}

const running = new Set<ChildProcess>();
// Like ServiceProcess: a bench that dies must not leave services behind.
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

const GRACEFUL_STOP_MS = 5000;
const MAX_LOG_CHARS = 200_000;

/**
 * A service process like scripts/lib/service-process.ts's ServiceProcess (`node dist/main.js` with
 * the same defaults), plus what the bench needs: extra node arguments and another entry (the
 * baseline), the probe preloaded with an IPC channel (ELU, RSS, Redis round trips), and a normal
 * exit on request so `--cpu-prof` can write its profile.
 */
export class BenchProcess {
  private child?: ChildProcess;
  private output = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (message: ProbeSample & { type: string }) => void>();

  private constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  static async start(options: { name: string; env: Record<string, string>; entry?: string; nodeArgs?: string[] }): Promise<BenchProcess> {
    const service = new BenchProcess(options.name, await freePort());
    service.spawn(options.env, options.entry ?? 'dist/main.js', options.nodeArgs ?? []);
    await service.waitUntilLive(30_000);
    return service;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logs(): string {
    return this.output;
  }

  /** VmRSS of the process from /proc, in bytes (undefined where /proc is missing). */
  rssFromProc(): number | undefined {
    if (!this.child?.pid) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  sample(): Promise<ProbeSample> {
    return this.ask('sample');
  }

  /** A normal exit (process.exit(0) in the probe), which --cpu-prof needs to write its file. */
  async exitNormally(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await this.ask('exit', timeoutMs).catch(() => undefined);
    await Promise.race([exited, sleep(timeoutMs)]);
    if (this.child === child) await this.stop();
  }

  /** SIGTERM (the service's shutdown hooks), SIGKILL if it is still there after a few seconds. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(GRACEFUL_STOP_MS).then(() => false)]);
    if (!gone) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  private spawn(env: Record<string, string>, entry: string, nodeArgs: string[]): void {
    const child = spawn(process.execPath, [...nodeArgs, '--import', './bench/probe.mjs', entry], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        GATEWAY_MIN_DELAY_MS: '0',
        GATEWAY_MAX_DELAY_MS: '0',
        ...env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    running.add(child);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-MAX_LOG_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('message', (message: ProbeSample & { id: number; type: string }) => {
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
  }

  private ask<T>(type: string, timeoutMs = 5000): Promise<T> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name} did not answer the probe's "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message as T);
      });
      child.send({ id, type });
    });
  }

  private async waitUntilLive(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${this.name} exited during start:\n${this.output}`);
      const live = await fetch(`${this.baseUrl}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (live) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.output}`);
  }
}
