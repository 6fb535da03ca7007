import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { runToExit, runToSuccess } from './managed-process.js';
import { waitFor } from './wait-for.js';

/**
 * The scripts themselves: the /usr/sbin wrappers switch to the rabbitmq user (and its cookie, and
 * the shared broker's startup log); these run as the caller, with the environment given.
 */
const BIN = process.env.RABBITMQ_BIN_DIR ?? (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin' : '');
const command = (name: string) => (BIN ? join(BIN, name) : name);

/** A node takes about 10 s to start on a loaded 2-core machine; more when four suites run. */
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const started = new Set<RabbitMqServer>();
// Whoever started a node and dies leaves none behind (a detached node is no child of ours).
process.once('exit', () => started.forEach((server) => server.kill()));

/**
 * A RabbitMQ node of its own (`rabbitmq-server -detached`), for the fault tests that stop and
 * restart the broker: its own node name, AMQP and distribution ports, data and log directories,
 * and empty config, plugins and env files in its temporary directory, so it reads nothing of the
 * machine's. Its Erlang cookie is its own too: HOME is the temporary directory, for the node and
 * for the rabbitmqctl that addresses it (`-n`). The shared broker is never touched. Stopped with
 * `rabbitmqctl stop <pid file>`, SIGKILLed by pid if it does not go.
 */
export class RabbitMqServer {
  private pid?: number;

  private constructor(
    readonly nodeName: string,
    readonly port: number,
    private readonly distPort: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RabbitMqServer> {
    const dir = mkdtempSync(join(tmpdir(), 'payments-rabbitmq-'));
    writeFileSync(join(dir, 'rabbitmq.conf'), '');
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(dir, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
    const server = new RabbitMqServer(`test${process.pid}${randomBytes(3).toString('hex')}@localhost`, await freePort(), await freePort(), dir);
    await server.restart();
    return server;
  }

  /** guest reaches loopback only, which is where tests run; the node is the test's, so its default vhost is too. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.pid !== undefined && isAlive(this.pid);
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '',
      HOME: this.dir,
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(this.dir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(this.dir, 'pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  private ctl(args: string[], timeoutMs = STOP_TIMEOUT_MS) {
    return runToExit(command('rabbitmqctl'), ['-n', this.nodeName, ...args], { name: `rabbitmqctl -n ${this.nodeName}`, env: this.env, timeoutMs });
  }

  /** Starts the node (detached) on its ports and data, and waits until it accepts work. */
  async restart(): Promise<void> {
    if (this.isRunning) throw new Error(`${this.nodeName} is already running`);
    rmSync(join(this.dir, 'pid'), { force: true });
    await runToSuccess(command('rabbitmq-server'), ['-detached'], { name: 'rabbitmq-server -detached', env: this.env, timeoutMs: 30_000 });
    started.add(this);
    await waitFor(
      `rabbitmq node ${this.nodeName} accepts work`,
      async () => {
        // Its pid, to stop it by: the node writes the file early in its start.
        this.pid ??= readPid(join(this.dir, 'pid'));
        return this.pid !== undefined && (await this.ctl(['-q', 'await_startup', '--timeout', '5'], 10_000)).code === 0;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  /** Stops the node (its data stays for restart()); SIGKILL by pid if it has not gone in time. */
  async stop(): Promise<void> {
    if (!this.isRunning) return;
    await this.ctl(['stop', join(this.dir, 'pid')]);
    this.kill();
    this.pid = undefined;
    started.delete(this);
  }

  /** SIGKILL by pid. */
  kill(): void {
    if (this.pid !== undefined && isAlive(this.pid)) process.kill(this.pid, 'SIGKILL');
  }

  /** Gone for good: the node and its directory. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
