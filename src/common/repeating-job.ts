import type { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A background job repeated until the app shuts down: one round at a time, the next after the
 * delay the round returns. A failing round is logged once per distinct error (not once per
 * retry), its recovery once, and it is tried again after `retryDelayMs`. `stop()` lets the round
 * in hand finish.
 */
export class RepeatingJob {
  private readonly stopping = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly logger: Logger,
    /** What the job does, for its log lines: "Relaying events". */
    private readonly what: string,
    /** One round; resolves with how long to wait before the next. */
    private readonly round: () => Promise<number>,
    private readonly retryDelayMs: number,
  ) {}

  /** Aborted once the app is shutting down: a long round checks it between steps. */
  get stopped(): AbortSignal {
    return this.stopping.signal;
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failure: string | undefined;
    while (!this.stopping.signal.aborted) {
      let delayMs = this.retryDelayMs;
      try {
        delayMs = await this.round();
        if (failure !== undefined) this.logger.log(`${this.what} works again`);
        failure = undefined;
      } catch (error) {
        const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
        if (failure !== message) this.logger.warn(`${this.what} failed (${message}); retrying`);
        failure = message;
      }
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}
