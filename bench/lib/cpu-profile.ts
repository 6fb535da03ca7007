/** Self time of a V8 .cpuprofile (what `node --cpu-prof` writes), per function and per origin. */
import { readFileSync } from 'node:fs';
import { round } from '../../scripts/lib/stats.js';

/** The parts of a .cpuprofile that self time needs: times in µs of CLOCK_MONOTONIC; each sample's node, and the µs since the previous sample. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function (name + file, the file relative to `root`, `node:…` for Node's own code),
 * from the samples inside `window` (the load window, without start-up and warm-up; the whole
 * profile if no sample falls inside, as when the clocks do not line up). A sample lasts until the
 * next, as Chrome DevTools counts it.
 */
export function summarizeCpuProfile(file: string, root: string, window: { startUs: number; endUs: number }) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  let time = profile.startTime;
  const timestamps = profile.timeDeltas.map((delta) => (time += delta));
  const windowed = (t: number) => t >= window.startUs && t <= window.endUs;
  const cut = timestamps.some(windowed);
  const inWindow = cut ? windowed : () => true;

  const selfUs = new Map<string, { function: string; location: string; line: number | null; us: number }>();
  const originUs = new Map<string, number>();
  let [idleUs, busyUs] = [0, 0];
  timestamps.forEach((t, index) => {
    const node = nodes.get(profile.samples[index]!);
    if (!inWindow(t) || !node) return;
    const duration = Math.max(0, (timestamps[index + 1] ?? profile.endTime) - t);
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') return void (idleUs += duration);
    busyUs += duration;
    const { url, lineNumber } = node.callFrame;
    const location = url.startsWith(`file://${root}/`) ? url.slice(`file://${root}/`.length) : url.replace(/^file:\/\//, '');
    const key = `${name}\u0000${location}`;
    const entry = selfUs.get(key) ?? { function: name, location, line: url ? lineNumber + 1 : null, us: 0 };
    selfUs.set(key, { ...entry, us: entry.us + duration });
    const origin = originOf(name, location);
    originUs.set(origin, (originUs.get(origin) ?? 0) + duration);
  });

  const share = (us: number) => ({ selfMs: round(us / 1000, 1), selfPercent: round((100 * us) / Math.max(busyUs, 1), 1) });
  const windowUs = cut ? window.endUs - window.startUs : profile.endTime - profile.startTime;
  return {
    windowMs: round(windowUs / 1000, 1),
    busyMs: round(busyUs / 1000, 1),
    busyPercent: round((100 * busyUs) / Math.max(busyUs + idleUs, 1), 1),
    top: [...selfUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 25)
      .map(({ us, ...entry }) => ({ ...entry, ...share(us) })),
    byOrigin: [...originUs.entries()].sort((a, b) => b[1] - a[1]).map(([origin, us]) => ({ origin, ...share(us) })),
  };
}

/** node_modules/@scope/name/… → @scope/name; dist/orders/… → dist/orders; packages/name/… → packages/name (the idempotency layer apart); node:… → node. */
function originOf(name: string, location: string): string {
  if (!location) return name.startsWith('(') ? name : 'V8 / native';
  const module = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (module) return module[1]!;
  if (location.startsWith('node:')) return 'node (internals)';
  const dist = /^dist\/([^/]+)/.exec(location);
  if (dist) return dist[1]!.endsWith('.js') ? 'dist (root)' : `dist/${dist[1]}`;
  return /^packages\/[^/]+/.exec(location)?.[0] ?? location.split('/')[0]!;
}
