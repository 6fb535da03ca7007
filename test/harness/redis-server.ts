import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';
import { waitFor } from './wait-for.js';

/** Whether tests and scripts can start (and kill) Redis processes of their own. */
export const hasRedisServerBinary = spawnSync('redis-server', ['--version']).status === 0;

const READY_TIMEOUT_MS = 10_000;

export interface RedisServerOptions {
  /** AOF with fsync on every write, so a crash (SIGKILL) loses nothing. */
  appendOnly?: boolean;
  /** More redis-server arguments (cluster mode, …). */
  args?: string[];
}

/**
 * A real redis-server on a free loopback port, owned by whoever started it (a test, the soak or
 * the bench): crashed (SIGKILL) and restarted on the same port and data directory, stopped by pid.
 */
export class RedisServer {
  private process?: ManagedProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'payments-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), ['--appendonly', options.appendOnly ? 'yes' : 'no', '--appendfsync', 'always', ...(options.args ?? [])]);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get isRunning(): boolean {
    return this.process?.isRunning ?? false;
  }

  async restart(): Promise<void> {
    if (this.process?.isRunning) throw new Error('redis-server is already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...this.extraArgs];
    this.process = ManagedProcess.spawn('redis-server', args, { name: `redis-server :${this.port}` });
    await waitFor(`redis-server on port ${this.port} answers PING`, () => pingRedis(this.port), { timeoutMs: READY_TIMEOUT_MS, process: this.process });
  }

  /** SIGKILL, like a crash; waits until the process is gone. The data directory stays for restart(). */
  async crash(): Promise<void> {
    await this.process?.crash();
  }

  /** SIGSTOP: the server holds its connections open and answers nothing, as a hung or partitioned Redis would. */
  pause(): void {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGSTOP');
  }

  /** SIGCONT: it answers again, including what it was sent while paused. */
  resume(): void {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGCONT');
  }

  /** Gone for good: the process and its data directory. */
  async stop(): Promise<void> {
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether Redis on the port answers PING with +PONG. */
function pingRedis(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
