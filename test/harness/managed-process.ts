import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;
/** What a process printed is kept up to this many characters (the tail): enough for a failure message. */
const MAX_LOG_CHARS = 200_000;

const running = new Set<ManagedProcess>();
// Whoever started processes and dies (a failed test file, a crashed script) leaves none behind.
process.once('exit', () => running.forEach((managed) => managed.signal('SIGKILL')));

export interface ProcessOptions {
  /** Shown in error messages. */
  name?: string;
  cwd?: string;
  /** The whole environment of the process (nothing is inherited unless passed). */
  env?: NodeJS.ProcessEnv;
  /** Ignored unless piped (then written through `child.stdin`). */
  stdin?: 'pipe' | 'ignore';
  /** Each: captured into `logs` and readable on `child.stdout`/`child.stderr` (the default), or passed to the owner's stderr. */
  stdout?: Output;
  stderr?: Output;
  /** A message channel (`child.send`, `child.on('message')`). */
  ipc?: boolean;
  /** Run as this OS user (the owner must be root), e.g. a server that refuses to run as root. */
  user?: { uid: number; gid: number };
  /**
   * A process group of its own: stop and crash signal the whole group, so the processes it forks
   * (a database server's backends) go with it.
   */
  processGroup?: boolean;
}

export type Output = 'capture' | 'stderr';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One child process owned by whoever started it: tracked until it exits, stopped by pid
 * (SIGTERM, then SIGKILL after a grace period) or crashed (SIGKILL), SIGKILLed when the owner exits.
 */
export class ManagedProcess {
  /** Resolves once the process is gone, with how it ended. */
  readonly exited: Promise<Exit>;
  private output = '';

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly processGroup: boolean,
  ) {
    running.add(this);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-MAX_LOG_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      const done = (exit: Exit) => {
        running.delete(this);
        resolve(exit);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      // A command that cannot be spawned at all (ENOENT) never emits 'exit'.
      child.once('error', (error) => {
        this.output += `\n${error.message}`;
        if (child.pid === undefined) done({ code: null, signal: null });
      });
    });
  }

  static spawn(command: string, args: string[], options: ProcessOptions = {}): ManagedProcess {
    const stdio: StdioOptions = [options.stdin ?? 'ignore', toStdio(options.stdout), toStdio(options.stderr), ...(options.ipc ? ['ipc' as const] : [])];
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? { PATH: process.env.PATH ?? '' },
      stdio,
      uid: options.user?.uid,
      gid: options.user?.gid,
      detached: options.processGroup,
    });
    return new ManagedProcess(options.name ?? command, child, options.processGroup ?? false);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return running.has(this);
  }

  /** What the process printed on stdout and stderr (its tail), for a failure message. */
  get logs(): string {
    return this.output;
  }

  /** SIGTERM (a graceful shutdown), SIGKILL if the process is still there after `graceMs`. */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<Exit> {
    if (!this.isRunning) return this.exited;
    this.signal('SIGTERM');
    return (await this.waitForExit(graceMs)) ?? this.crash();
  }

  /** How the process ended, or undefined if it is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit | undefined> {
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined);
    const exit = await Promise.race([this.exited, timeout]);
    timer.abort();
    return exit;
  }

  /** SIGKILL, like a machine that dies: nothing gets a chance to run. Resolves once it is gone. */
  async crash(): Promise<Exit> {
    if (this.isRunning) this.signal('SIGKILL');
    return this.exited;
  }

  /** Sends a signal to the process, or to its whole group (then its other members may outlive `exited` briefly). */
  signal(signal: NodeJS.Signals): void {
    if (!this.processGroup || this.child.pid === undefined) {
      this.child.kill(signal);
      return;
    }
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}

function toStdio(output: Output = 'capture'): 'pipe' | 2 {
  return output === 'capture' ? 'pipe' : 2;
}

/** Stops every process still running (a test file's last hook; a script's interrupt). */
export async function stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
  await Promise.all([...running].map((managed) => managed.stop(graceMs)));
}

/** Runs a command to its end (SIGKILL after `timeoutMs`, if given) and returns what it printed, separately. */
export async function runToExit(
  command: string,
  args: string[],
  options: Pick<ProcessOptions, 'name' | 'cwd' | 'env' | 'user'> & { timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const managed = ManagedProcess.spawn(command, args, options);
  let stdout = '';
  let stderr = '';
  managed.child.stdout!.on('data', (chunk) => (stdout += chunk));
  managed.child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => void managed.crash(), options.timeoutMs);
  const exit = await managed.exited.finally(() => clearTimeout(timer));
  return { ...exit, stdout, stderr };
}

/** Runs a command to its end and returns its stdout; a failure is an error carrying what it printed. */
export async function runToSuccess(
  command: string,
  args: string[],
  options: Pick<ProcessOptions, 'name' | 'cwd' | 'env' | 'user'> & { timeoutMs?: number } = {},
): Promise<string> {
  const { code, signal, stdout, stderr } = await runToExit(command, args, options);
  if (code !== 0) throw new Error(`${options.name ?? command} ${args.join(' ')} failed (${signal ?? `exit code ${code}`}):\n${stdout}${stderr}`);
  return stdout;
}
