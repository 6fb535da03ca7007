import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-server.js';

const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/**
 * The built service (`node dist/main.js`) as its own process, for tests and scripts that crash it: SIGKILL
 * leaves no chance to store or release anything, exactly like a machine that dies.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = new ServiceProcess(await freePort(), env);
    await service.restart();
    return service;
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
    const child = spawn(process.execPath, ['dist/main.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        GATEWAY_MIN_DELAY_MS: '0',
        GATEWAY_MAX_DELAY_MS: '0',
        ...this.env,
        PORT: String(this.port),
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
    await this.waitUntilLive(15_000);
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
      const live = await fetch(`${this.baseUrl}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (live) return;
      await sleep(50);
    }
    throw new Error(`the service did not start within ${timeoutMs} ms:\n${this.output}`);
  }
}
