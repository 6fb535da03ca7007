import type { AutocannonOutput } from '../load.js';
import { median, round, slope } from '../../scripts/lib/stats.js';
import { type Context, emptyStore, loadOptions, log, runLoad, startSide, storeOf } from '../lib/processes.js';
import { reqPerSec } from '../lib/measure.js';
import { DEFAULT_ADAPTER } from '../lib/sides.js';

export const SOAK_FIRST_SECONDS = 10;

/**
 * The memory check: RSS after 10 s of fresh keys against RSS at the end of the soak, on a service
 * started for it and warmed up like the others (a new process grows its heap to its working size
 * over its first seconds under load: start-up, not growth). RSS saws with every GC, so both are
 * medians of 5-second windows of a per-second series.
 */
export async function runSoak(context: Context) {
  const { warmupSeconds, soakSeconds, connections } = context.options;
  const service = await startSide(context, DEFAULT_ADAPTER, 'soak');
  const series: Array<[number, number]> = [];
  let startedAt: number | undefined;
  const sampleRss = () => startedAt !== undefined && series.push([Math.round((Date.now() - startedAt) / 1000), round(service.rss() / 2 ** 20, 1)]);
  const timer = setInterval(sampleRss, 1000);
  try {
    const load = (label: string, seconds: number, beforeGo?: () => Promise<void>) =>
      runLoad<AutocannonOutput>(loadOptions('unique', label, service, DEFAULT_ADAPTER, { seconds, connections }), beforeGo);
    if (warmupSeconds > 0) await load('soak warm-up', warmupSeconds);
    await emptyStore(storeOf(context, DEFAULT_ADAPTER));
    log(`bench: soak: fresh keys for ${SOAK_FIRST_SECONDS} s, then ${soakSeconds - SOAK_FIRST_SECONDS} s more`);
    const first = await load(`soak 0-${SOAK_FIRST_SECONDS} s`, SOAK_FIRST_SECONDS, async () => void (startedAt = Date.now()));
    const rest = await load(`soak ${SOAK_FIRST_SECONDS}-${soakSeconds} s`, soakSeconds - SOAK_FIRST_SECONDS);
    clearInterval(timer);
    const windowMedian = (end: number) => round(median(series.filter(([t]) => t > end - 5 && t <= end).map(([, mb]) => mb)), 1);
    const rssAfter10sMB = windowMedian(SOAK_FIRST_SECONDS);
    const rssAfterSoakMB = windowMedian(series.at(-1)?.[0] ?? soakSeconds);
    return {
      seconds: soakSeconds,
      reqPerSec: [first, rest].map(({ result }) => reqPerSec(result)),
      rssAfter10sMB,
      rssAfterSoakMB,
      ratio: round(rssAfterSoakMB / rssAfter10sMB, 3),
      /** RSS growth after the first 10 s, MB per minute (least squares). */
      rssSlopeMBPerMinute: round(60 * slope(series.filter(([t]) => t > SOAK_FIRST_SECONDS)), 2),
      series,
    };
  } finally {
    clearInterval(timer);
    await service.stop();
  }
}

export type SoakResult = Awaited<ReturnType<typeof runSoak>>;
