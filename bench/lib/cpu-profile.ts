import { readFileSync } from 'node:fs';

/** The parts of V8's .cpuprofile (what `node --cpu-prof` writes) that self time needs. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  /** µs, CLOCK_MONOTONIC. */
  startTime: number;
  endTime: number;
  /** Node id of each sample. */
  samples: number[];
  /** µs between consecutive samples; the first is from startTime. */
  timeDeltas: number[];
}

interface ProfileEntry {
  function: string;
  /** url relative to the project (dist/…, node_modules/…), node:… for Node's own code. */
  location: string;
  /** Line of the function (1-based) in that file, where V8 gives one. */
  line: number | null;
  selfMs: number;
  /** Share of the busy (non-idle) time in the window. */
  selfPercent: number;
}

/**
 * Self time per function (name + file), from the samples of a .cpuprofile, optionally only those
 * inside [startUs, endUs] (the load window, without start-up and warm-up). A sample's duration is
 * the gap to the next sample, as Chrome DevTools counts it.
 */
export function summarizeCpuProfile(file: string, options: { root: string; window?: { startUs: number; endUs: number }; top?: number }) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const timestamps: number[] = [];
  let time = profile.startTime;
  for (const delta of profile.timeDeltas) timestamps.push((time += delta));

  let window = options.window;
  const inWindow = (t: number) => !window || (t >= window.startUs && t <= window.endUs);
  // If the clocks did not line up (no sample inside), fall back to the whole profile rather than nothing.
  if (window && !timestamps.some(inWindow)) window = undefined;

  const selfUs = new Map<string, { entry: Omit<ProfileEntry, 'selfMs' | 'selfPercent'>; us: number }>();
  const originUs = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    const t = timestamps[index]!;
    if (!inWindow(t)) continue;
    const next = timestamps[index + 1] ?? profile.endTime;
    const duration = Math.max(0, next - t);
    const node = nodes.get(profile.samples[index]!);
    if (!node) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += duration;
      continue;
    }
    busyUs += duration;
    const location = relativeLocation(node.callFrame.url, options.root);
    const key = `${name}\u0000${location}`;
    const current = selfUs.get(key) ?? {
      entry: { function: name, location, line: node.callFrame.url ? node.callFrame.lineNumber + 1 : null },
      us: 0,
    };
    current.us += duration;
    selfUs.set(key, current);
    const origin = originOf(name, location);
    originUs.set(origin, (originUs.get(origin) ?? 0) + duration);
  }

  const windowUs = window ? window.endUs - window.startUs : profile.endTime - profile.startTime;
  const percentOfBusy = (us: number) => round((100 * us) / Math.max(busyUs, 1));
  return {
    windowMs: round(windowUs / 1000),
    busyMs: round(busyUs / 1000),
    busyPercent: round((100 * busyUs) / Math.max(busyUs + idleUs, 1)),
    top: [...selfUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, options.top ?? 25)
      .map(({ entry, us }) => ({ ...entry, selfMs: round(us / 1000), selfPercent: percentOfBusy(us) })),
    byOrigin: [...originUs.entries()].sort((a, b) => b[1] - a[1]).map(([origin, us]) => ({ origin, selfMs: round(us / 1000), selfPercent: percentOfBusy(us) })),
  };
}

function relativeLocation(url: string, root: string): string {
  if (!url) return '';
  const prefix = `file://${root.replace(/\/$/, '')}/`;
  return url.startsWith(prefix) ? url.slice(prefix.length) : url.replace(/^file:\/\//, '');
}

/** node_modules/@scope/name/… → @scope/name; dist/orders/… → dist/orders; packages/name/… → packages/name; node:… → node. */
function originOf(name: string, location: string): string {
  if (!location) return name.startsWith('(') ? name : 'V8 / native';
  const module = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (module) return module[1]!;
  if (location.startsWith('node:')) return 'node (internals)';
  const dist = /^dist\/([^/]+)/.exec(location);
  if (dist) return dist[1]!.endsWith('.js') ? 'dist (root)' : `dist/${dist[1]}`;
  // The workspace packages (the idempotency layer), each apart.
  const workspacePackage = /^packages\/[^/]+/.exec(location);
  if (workspacePackage) return workspacePackage[0];
  return location.split('/')[0]!;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
