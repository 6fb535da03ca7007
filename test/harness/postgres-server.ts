import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port.js';
import { ManagedProcess, runToSuccess } from './managed-process.js';
import { waitFor } from './wait-for.js';

const READY_TIMEOUT_MS = 30_000;

/** A PostgreSQL server to connect to; a `pg` Client or Pool takes it as it is. */
export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  database: string;
}

/** Where initdb and postgres are: $POSTGRES_BIN, else the newest Debian install (/usr/lib/postgresql/<major>/bin), else PATH. */
function postgresBinDir(): string {
  if (process.env.POSTGRES_BIN) return process.env.POSTGRES_BIN;
  const debian = '/usr/lib/postgresql';
  const majors = existsSync(debian) ? readdirSync(debian).filter((major) => existsSync(join(debian, major, 'bin', 'initdb'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(debian, newest, 'bin') : '';
}

const BIN_DIR = postgresBinDir();
const binary = (name: string) => (BIN_DIR ? join(BIN_DIR, name) : name);

/** PostgreSQL refuses to run as root: as root, its processes run as the `postgres` OS user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim() || NaN);
  const user = { uid: id('-u'), gid: id('-g') };
  if (Number.isNaN(user.uid) || Number.isNaN(user.gid)) throw new Error('running as root, PostgreSQL needs a `postgres` OS user to run as, and there is none');
  return user;
}

/**
 * A real PostgreSQL server of its own (initdb into a temporary folder, `postgres` on a free
 * loopback port), owned by the test that started it: crashed (SIGKILL to the server and its
 * backends, as a machine that dies) and restarted on the same port and data directory, stopped
 * by pid. Trust authentication for the `postgres` role; no Unix socket; fsync off (a crash here
 * kills processes, not the machine, so written pages survive it).
 */
export class PostgresServer {
  private process?: ManagedProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<PostgresServer> {
    const user = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'payments-postgres-'));
    if (user) chownSync(dir, user.uid, user.gid);
    const server = new PostgresServer(await freePort(), dir, user);
    try {
      await runToSuccess(binary('initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
        user,
        timeoutMs: READY_TIMEOUT_MS,
      });
      await server.restart();
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /** Its `postgres` database, as the superuser. */
  get connection(): PostgresConnection {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' };
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get isRunning(): boolean {
    return this.process?.isRunning ?? false;
  }

  async restart(): Promise<void> {
    if (this.process?.isRunning) throw new Error('postgres is already running');
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', fsync: 'off', full_page_writes: 'off' };
    const args = ['-D', this.dir, '-p', String(this.port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    this.process = ManagedProcess.spawn(binary('postgres'), args, { name: `postgres :${this.port}`, user: this.user, processGroup: true });
    await waitFor(`postgres on port ${this.port} answers a query`, () => answers(this.connection), {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 50,
      process: this.process,
    });
  }

  /**
   * SIGKILL to the server and every backend, like a crash; waits until they are gone (none holds
   * its shared memory, which a restart checks). The data directory stays for restart().
   */
  async crash(): Promise<void> {
    await this.process?.crash();
    await waitFor(`the killed postgres on port ${this.port} released its shared memory`, () => this.sharedMemoryReleased(), {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 10,
    });
  }

  /** Gone for good: the processes and the data directory. */
  async stop(): Promise<void> {
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Whether no process still attaches the System V segment the last server recorded in
   * postmaster.pid (its 7th line: key, id), the check a starting server makes; true off Linux.
   */
  private sharedMemoryReleased(): boolean {
    const pidFile = join(this.dir, 'postmaster.pid');
    if (!existsSync(pidFile) || !existsSync('/proc/sysvipc/shm')) return true;
    const shmId = readFileSync(pidFile, 'utf8').split('\n')[6]?.trim().split(/\s+/)[1];
    // Columns: key shmid perms size cpid lpid nattch …
    const segment = readFileSync('/proc/sysvipc/shm', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((columns) => columns[1] === shmId);
    return segment === undefined || segment[6] === '0';
  }
}

/** Whether the server accepts a connection and answers a query. */
async function answers(connection: PostgresConnection): Promise<boolean> {
  const client = new Client({ ...connection, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
