import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServiceProcess } from '../../tools/process/index.js';
import { BENCH_DIR } from './paths.js';

/** By URL: a process of another checkout (the `--ref` side) runs this probe too. It instruments the ioredis of the process's cwd. */
const PROBE = pathToFileURL(join(BENCH_DIR, 'probe.mjs')).href;

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
  /** Statements the process sent to PostgreSQL so far, by prepared name (BEGIN/COMMIT/ROLLBACK, else `text`). */
  postgres: Record<string, number>;
  /** Monotonic clock in µs, the clock V8's CPU profiles are stamped with. */
  monotonicUs: number;
}

type ProbeMessage = ProbeSample & { id: number; type: string };

/**
 * A service process of the harness with bench/probe.mjs preloaded and an IPC channel to it: ELU,
 * CPU, RSS and Redis round trips on request, and a normal exit so `--cpu-prof` can write its profile.
 */
export class ProbedService {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: ProbeMessage) => void>();

  private constructor(private readonly service: ServiceProcess) {
    service.process?.child.on('message', (message: ProbeMessage) => {
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  /** `cwd`: the checkout whose build runs (`entry`, by default dist/main.js, is relative to it). */
  static async start(options: { name: string; env: Record<string, string>; cwd: string; entry?: string; nodeArgs?: string[] }): Promise<ProbedService> {
    const service = await ServiceProcess.start(options.env, {
      name: options.name,
      cwd: options.cwd,
      entry: options.entry,
      nodeArgs: [...(options.nodeArgs ?? []), '--import', PROBE],
      ipc: true,
    });
    return new ProbedService(service);
  }

  get name(): string {
    return this.service.name;
  }

  get baseUrl(): string {
    return this.service.baseUrl;
  }

  get logs(): string {
    return this.service.logs;
  }

  /** VmRSS of the process from /proc, in bytes (undefined where /proc is missing). */
  rssFromProc(): number | undefined {
    if (!this.service.pid) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.service.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  sample(): Promise<ProbeSample> {
    return this.ask('sample');
  }

  /** A normal exit (process.exit(0) in the probe), which --cpu-prof needs to write its file; SIGTERM, then SIGKILL, if it does not come. */
  async exitNormally(timeoutMs = 15_000): Promise<void> {
    const running = this.service.process;
    if (!running) return;
    await this.ask('exit', timeoutMs).catch(() => undefined);
    if (!(await running.waitForExit(timeoutMs))) await running.stop();
  }

  /** SIGTERM (the service's shutdown hooks), SIGKILL if it is still there after a few seconds. */
  stop(): Promise<void> {
    return this.service.stop();
  }

  private ask<T>(type: string, timeoutMs = 5000): Promise<T> {
    const child = this.service.process?.child;
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
}
