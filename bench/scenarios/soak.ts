import { median, round, slope } from '../../tools/stats.js';
import { type AutocannonOutput, type Context, emptyDatabase, loadOptions, log, runLoad, startSide, storeOf } from '../lib/processes.js';
import { DEFAULT_ADAPTER, type SoakResult } from '../lib/types.js';

export const SOAK_FIRST_SECONDS = 10;

/** RSS after 10 s of fresh keys vs after the whole soak, on a service (default adapter) started for it. */
export async function runSoak(context: Context): Promise<SoakResult> {
  const { options } = context;
  const { client } = storeOf(context, DEFAULT_ADAPTER);
  const service = await startSide(context, DEFAULT_ADAPTER, 'soak');
  const series: Array<[number, number]> = [];
  // Seconds count from the moment the load starts; before that (warm-up, the load process starting) nothing is sampled.
  let startedAt: number | undefined;
  const timer = setInterval(() => {
    const rss = service.rssFromProc();
    if (rss !== undefined && startedAt !== undefined) series.push([Math.round((Date.now() - startedAt) / 1000), round(rss / 2 ** 20, 1)]);
  }, 1000);
  try {
    // The same warm-up as the measured services: a new process grows its heap to its working size
    // over its first seconds under load, which is start-up, not growth.
    if (options.warmupSeconds > 0) {
      log(`bench: soak: warming up for ${options.warmupSeconds} s (not measured)`);
      await runLoad(loadOptions('unique', 'soak warm-up', service, { seconds: options.warmupSeconds, connections: options.connections }));
    }
    await client.flushall();
    if (context.databases[DEFAULT_ADAPTER]) await emptyDatabase(context.databases[DEFAULT_ADAPTER]!);
    log(`bench: soak: fresh keys for ${SOAK_FIRST_SECONDS} s, then ${options.soakSeconds - SOAK_FIRST_SECONDS} s more`);
    const first = await runLoad<AutocannonOutput>(
      loadOptions('unique', 'soak 0-10 s', service, { seconds: SOAK_FIRST_SECONDS, connections: options.connections }),
      async () => {
        startedAt = Date.now();
      },
    );
    const at10 = await service.sample();
    const rest = await runLoad<AutocannonOutput>(
      loadOptions('unique', `soak 10-${options.soakSeconds} s`, service, {
        seconds: options.soakSeconds - SOAK_FIRST_SECONDS,
        connections: options.connections,
      }),
    );
    const atEnd = await service.sample();
    clearInterval(timer);
    const windowMedian = (from: number, to: number) => median(series.filter(([t]) => t > from && t <= to).map(([, mb]) => mb));
    const end = series.at(-1)?.[0] ?? options.soakSeconds;
    const rss10 = windowMedian(SOAK_FIRST_SECONDS - 5, SOAK_FIRST_SECONDS);
    const rssEnd = windowMedian(end - 5, end);
    return {
      seconds: options.soakSeconds,
      reqPerSecFirst10s: round(first.result.requests.total / first.result.duration, 1),
      reqPerSecRest: round(rest.result.requests.total / rest.result.duration, 1),
      rssAfter10sMB: round(rss10, 1),
      rssAfterSoakMB: round(rssEnd, 1),
      rssSlopeMBPerMinute: round(60 * slope(series.filter(([t]) => t > SOAK_FIRST_SECONDS)), 2),
      heapAfter10sMB: round(at10.heapUsed / 2 ** 20, 1),
      heapAfterSoakMB: round(atEnd.heapUsed / 2 ** 20, 1),
      ratio: round(rssEnd / rss10, 3),
      series,
    };
  } finally {
    clearInterval(timer);
    await service.stop();
    await client.flushall();
  }
}
