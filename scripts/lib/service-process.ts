import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-server.js';

const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/** Variables for the process; `undefined` removes one of the defaults below (e.g. NODE_ENV). */
export type ServiceEnv = Record<string, string | undefined>;

export interface ServiceProcessOptions {
  /** The built entry to run; `dist/worker.js` runs the events worker, which serves only /health and /metrics. */
  entry?: string;
  /** When the process counts as started; by default once its /health answers. */
  isReady?: (process: ServiceProcess) => Promise<boolean>;
}

/**
 * The built service (`node dist/main.js`, or the events worker `dist/worker.js`) as its own process, for
 * tests and scripts that crash it: SIGKILL leaves no chance to store or release anything, exactly like
 * a machine that dies.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly env: ServiceEnv,
    private readonly options: ServiceProcessOptions,
  ) {}

  static async start(env: ServiceEnv, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
    const service = new ServiceProcess(await freePort(), env, options);
    await service.restart();
    return service;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What the process printed, for a failing test's message. */
  get logs(): string {
    return this.output;
  }

  async restart(): Promise<void> {
    if (this.child) throw new Error('the service is already running');
    const child = spawn(process.execPath, [this.options.entry ?? 'dist/main.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        GATEWAY_MIN_DELAY_MS: '0',
        GATEWAY_MAX_DELAY_MS: '0',
        ...this.env,
        // The service listens on PORT, the standalone worker on WORKER_PORT: either answers on `port`.
        PORT: String(this.port),
        WORKER_PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    child.stdout!.on('data', (chunk) => (this.output += chunk));
    child.stderr!.on('data', (chunk) => (this.output += chunk));
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    // A process that never became ready is not left running (it would keep the caller alive).
    await this.waitUntilLive(15_000).catch(async (error: unknown) => {
      await this.crash();
      throw error;
    });
  }

  /** SIGKILL, like a crash; resolves once the process is gone. */
  async crash(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM and wait: a graceful stop. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  private async waitUntilLive(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`the service exited during start:\n${this.output}`);
      const live = this.options.isReady
        ? await this.options.isReady(this).catch(() => false)
        : await fetch(`${this.baseUrl}/health`).then(
            (response) => response.ok,
            () => false,
          );
      if (live) return;
      await sleep(50);
    }
    throw new Error(`the service did not start within ${timeoutMs} ms:\n${this.output}`);
  }
}
