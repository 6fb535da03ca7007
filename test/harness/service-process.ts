import { freePort } from './free-port.js';
import { DEFAULT_GRACE_MS, ManagedProcess } from './managed-process.js';
import { answersOk, waitFor } from './wait-for.js';

export interface ServiceProcessOptions {
  /** The built entry to run; `dist/worker.js` runs the events worker, which serves only /health and /metrics. */
  entry?: string;
  /** The checkout whose build runs (another worktree, for the bench's git-ref side); this one by default. */
  cwd?: string;
  /** Node arguments before the entry (`--cpu-prof`, `--import tsx`, a preloaded probe). */
  nodeArgs?: string[];
  /** Shown in error messages and logs. */
  name?: string;
  /** A message channel to the process (`process.child.send`, `.on('message')`). */
  ipc?: boolean;
  /** When the process counts as started; by default once its /health answers. */
  isReady?: (service: ServiceProcess) => Promise<boolean>;
  /** 30 s by default. */
  readyTimeoutMs?: number;
}

/** Nest's start takes a second on a quiet machine; a shared 2-core machine under four test suites needs far more. */
const READY_TIMEOUT_MS = 30_000;

/** Quiet, instant gateway, test mode: what tests want; callers override any of it. */
const DEFAULT_ENV = { NODE_ENV: 'test', LOG_LEVEL: 'warn', GATEWAY_MIN_DELAY_MS: '0', GATEWAY_MAX_DELAY_MS: '0' };

/**
 * The built service (`node dist/main.js`, or the events worker `dist/worker.js`) as its own process
 * on a free port, for tests, scripts and the bench: stopped gracefully (SIGTERM, then SIGKILL),
 * crashed (SIGKILL leaves no chance to store or release anything, exactly like a machine that
 * dies) and restarted on the same port.
 */
export class ServiceProcess {
  private current?: ManagedProcess;

  private constructor(
    readonly port: number,
    /** `undefined` removes a default (e.g. NODE_ENV, to start the service as a deploy that forgot it). */
    private readonly env: Record<string, string | undefined>,
    private readonly options: ServiceProcessOptions,
  ) {}

  static async start(env: Record<string, string | undefined>, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
    const service = new ServiceProcess(await freePort(), env, options);
    await service.restart();
    return service;
  }

  get name(): string {
    return this.options.name ?? `service :${this.port}`;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The running process, if any (its pid, its IPC channel). */
  get process(): ManagedProcess | undefined {
    return this.current?.isRunning ? this.current : undefined;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** What the last process printed, for a failure message. */
  get logs(): string {
    return this.current?.logs ?? '';
  }

  async restart(): Promise<void> {
    if (this.process) throw new Error(`${this.name} is already running`);
    const { entry = 'dist/main.js', nodeArgs = [], ipc = false, cwd } = this.options;
    const started = ManagedProcess.spawn(process.execPath, [...nodeArgs, entry], {
      name: this.name,
      cwd,
      ipc,
      env: withoutUndefined({
        PATH: process.env.PATH ?? '',
        ...DEFAULT_ENV,
        ...this.env,
        // The service listens on PORT, the standalone worker on WORKER_PORT: either answers on `port`.
        PORT: String(this.port),
        WORKER_PORT: String(this.port),
      }),
    });
    this.current = started;
    const isReady = this.options.isReady ?? (() => answersOk(`${this.baseUrl}/health`));
    // A process that never became ready is not left running (it would keep the caller alive).
    await waitFor(`${this.name} is ready`, () => isReady(this), { timeoutMs: this.options.readyTimeoutMs ?? READY_TIMEOUT_MS, process: started }).catch(
      async (error: unknown) => {
        await started.crash();
        throw error;
      },
    );
  }

  /** SIGTERM (the shutdown hooks run), SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    await this.current?.stop(graceMs);
  }

  /** SIGKILL, like a crash; resolves once the process is gone. */
  async crash(): Promise<void> {
    await this.current?.crash();
  }
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
