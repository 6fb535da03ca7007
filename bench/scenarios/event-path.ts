/**
 * Issue 24's figures of a fresh run: the outbox lag, sampled from the side's database while the
 * load runs, and on the `worker` side the CPU the events worker process spends relaying and
 * consuming the run's events. The bench's own connection to the side's database reads the outbox;
 * nothing here changes the service's work.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { percentile, round } from '../../tools/stats.js';
import type { ProbedService } from '../lib/probed-service.js';
import type { EventFigures } from '../lib/types.js';

/** How often the lag is sampled: 100 samples in a 10 s run. */
export const LAG_SAMPLE_MS = 100;
/** How long the outbox and the consumer get to catch up after the load before the run is reported as not drained. */
const DRAIN_LIMIT_MS = 60_000;

/** The age of the oldest event still waiting in the outbox (the relay's lag), 0 when none waits: what the service's readiness and payments_outbox_lag_seconds report. */
const LAG = `SELECT coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at)), 0)::float8 AS lag FROM payment_events WHERE published_at IS NULL`;
/** Events published, successes among them, and those still waiting: in the outbox, or for their receipt. */
const COUNTS = `SELECT
  (SELECT count(*) FROM payment_events WHERE published_at IS NOT NULL)::int AS published,
  (SELECT count(*) FROM payment_events WHERE published_at IS NULL)::int AS unpublished,
  (SELECT count(*) FROM payment_events WHERE type = 'payment.succeeded')::int AS succeeded,
  (SELECT count(*) FROM payment_events e WHERE e.type = 'payment.succeeded' AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.event_id = e.id))::int AS unconsumed`;

interface Counts {
  published: number;
  unpublished: number;
  succeeded: number;
  unconsumed: number;
}

export class EventPathProbe {
  private readonly samples: number[] = [];
  private sampling?: Promise<void>;
  private stopSampling = false;
  private before?: { counts: Counts; workerCpuUs: number | null };

  /** `worker`: the side's events worker process, when the event path runs apart from the service. */
  constructor(
    private readonly client: pg.Client,
    private readonly worker: ProbedService | undefined,
  ) {}

  /**
   * Right before the measured window. With a worker, the events of the lead-in are drained first,
   * so the worker's CPU from here on is the window's events (a pause of the length of one relay
   * poll when it keeps up).
   */
  async prepare(): Promise<void> {
    const counts = this.worker ? (await this.drain()).counts : await this.counts();
    this.before = { counts, workerCpuUs: this.worker ? (await this.worker.sample()).cpuUs : null };
  }

  /** At "go": samples the lag until `loadEnded`. */
  startSampling(): void {
    this.sampling = (async () => {
      while (!this.stopSampling) {
        const started = Date.now();
        const { rows } = await this.client.query<{ lag: number }>(LAG);
        this.samples.push(rows[0]?.lag ?? 0);
        await sleep(Math.max(0, LAG_SAMPLE_MS - (Date.now() - started)));
      }
    })();
  }

  async loadEnded(): Promise<void> {
    this.stopSampling = true;
    await this.sampling;
  }

  /** After the load: waits until the outbox is empty and every success has its receipt, then the figures. */
  async figures(serviceCpuUsPerRequest: number): Promise<EventFigures> {
    const { counts, drainMs } = await this.drain();
    const before = this.before!;
    const published = counts.published - before.counts.published;
    const consumed = counts.succeeded - counts.unconsumed - (before.counts.succeeded - before.counts.unconsumed);
    const workerCpuUs = this.worker && before.workerCpuUs !== null ? (await this.worker.sample()).cpuUs - before.workerCpuUs : null;
    const perEvent = workerCpuUs !== null && published > 0 ? workerCpuUs / published : null;
    return {
      lagSamplesS: this.samples.map((lag) => round(lag, 3)),
      lagSampleMs: LAG_SAMPLE_MS,
      lagP99S: percentile(this.samples, 99, 3),
      lagMaxS: this.samples.length === 0 ? null : round(Math.max(...this.samples), 3),
      published,
      consumed,
      drainMs,
      workerCpuUs,
      workerCpuUsPerEvent: perEvent === null ? null : round(perEvent, 0),
      shareOfCharge: perEvent === null || serviceCpuUsPerRequest <= 0 ? null : round(perEvent / serviceCpuUsPerRequest, 4),
    };
  }

  private async counts(): Promise<Counts> {
    const { rows } = await this.client.query<Counts>(COUNTS);
    return rows[0]!;
  }

  private async drain(): Promise<{ counts: Counts; drainMs: number | null }> {
    const started = Date.now();
    for (;;) {
      const counts = await this.counts();
      if (counts.unpublished === 0 && counts.unconsumed === 0) return { counts, drainMs: Date.now() - started };
      if (Date.now() - started > DRAIN_LIMIT_MS) return { counts, drainMs: null };
      await sleep(50);
    }
  }
}
