import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether tests and scripts can start (and kill) Redis processes of their own. */
export const hasRedisServerBinary = spawnSync('redis-server', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Answers once Redis on the port replies +PONG, or false after the timeout. */
async function pingRedis(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(25);
  }
  return false;
}

const running = new Set<RedisServer>();
// A test or script that dies must not leave Redis processes behind.
process.once('exit', () => running.forEach((server) => server.kill()));

/**
 * A real redis-server on a free loopback port, owned by whoever started it (a test, the soak or
 * the benchmark): started, killed (SIGKILL, as a crash) and restarted on the same port and data
 * directory, cleaned up by pid.
 */
export class RedisServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'payments-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(options: { appendOnly?: boolean; args?: string[] } = {}): Promise<RedisServer> {
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

  async restart(): Promise<void> {
    if (this.process) throw new Error('redis-server is already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...this.extraArgs], {
      stdio: 'ignore',
    });
    this.process = child;
    running.add(this);
    child.once('exit', () => {
      if (this.process === child) this.process = undefined;
    });
    if (!(await pingRedis(this.port, 10_000))) throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** SIGKILL, like a crash; waits until the process is gone. */
  async crash(): Promise<void> {
    const child = this.process;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  kill(): void {
    this.process?.kill('SIGKILL');
    this.process = undefined;
    running.delete(this);
  }

  async stop(): Promise<void> {
    await this.crash();
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
