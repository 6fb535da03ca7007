import type { BenchResult, ThroughputRun, ThroughputScenario } from './types.js';
import { THROUGHPUT_SCENARIOS } from './types.js';
import { median } from '../../tools/stats.js';

const WIDTH = 1080;
const HEIGHT = 540;
const PANEL_WIDTH = 400;
const PLOT_TOP = 96;
const PLOT_BOTTOM = 400;
const COLORS: Record<ThroughputScenario, string> = {
  baseline: '#7a7a7a',
  fresh: '#2f6fb3',
  replay: '#2e9a5b',
  mixed: '#8a4fb8',
};

interface Panel {
  title: string;
  unit: string;
  /** Which of the summary's ratios to the baseline (medians of per-round ratios) to print under a group. */
  ratio: 'reqPerSec' | 'p99';
  value: (run: ThroughputRun) => number;
  /** Dashed target lines, relative to the baseline median. */
  targets: Array<{ factor: number; label: string }>;
}

/**
 * Requests/s and p99 per scenario as grouped bars (one bar per round, the median written above
 * the group), with the issue's targets as dashed lines. A hand-written SVG: no dependency.
 */
export function renderChart(result: BenchResult): string {
  const runs = result.runs;
  const scenarios = THROUGHPUT_SCENARIOS.filter((scenario) => runs.some((run) => run.scenario === scenario));
  const rounds = Math.max(1, ...runs.map((run) => run.round));
  const panels: Panel[] = [
    {
      title: 'Requests per second (higher is better)',
      unit: 'req/s',
      ratio: 'reqPerSec',
      value: (run) => run.reqPerSec,
      targets: [
        { factor: 0.85, label: 'fresh ≥ 0.85×' },
        { factor: 1.3, label: 'replay ≥ 1.3×' },
      ],
    },
    {
      title: 'p99 latency, ms (lower is better)',
      unit: 'ms',
      ratio: 'p99',
      value: (run) => run.latencyMs.p99,
      targets: [{ factor: 1.25, label: 'fresh ≤ 1.25×' }],
    },
  ];
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 30, 'What idempotency costs: POST /api/payments/charge', { size: 18, anchor: 'middle', weight: 'bold' }),
    text(
      WIDTH / 2,
      52,
      `${result.startedAt} · ${result.options.seconds} s × ${result.options.rounds} interleaved rounds · ${result.options.connections} connections · ` +
        `gateway delay 0 · Node ${result.machine.node} · ${result.machine.cpus} CPUs`,
      { size: 12, anchor: 'middle', fill: '#555' },
    ),
  );
  panels.forEach((panel, index) => parts.push(renderPanel(panel, 70 + index * (PANEL_WIDTH + 110), scenarios, rounds, runs, result)));

  // Legend: rounds by opacity.
  const legendY = HEIGHT - 66;
  for (let round = 1; round <= rounds; round++) {
    const x = 70 + (round - 1) * 120;
    parts.push(`<rect x="${x}" y="${legendY - 10}" width="14" height="12" fill="#555" fill-opacity="${opacity(round, rounds)}"/>`);
    parts.push(text(x + 20, legendY, `round ${round}`, { size: 12 }));
  }
  parts.push(
    text(70 + rounds * 120, legendY, 'above a group: median over rounds; below: median of per-round ratios; dashed: targets × baseline median', {
      size: 12,
      fill: '#555',
    }),
  );

  const footer: string[] = [];
  const contention = result.summary.contention;
  if (contention) {
    footer.push(
      `contention: ${contention.executionsPerRound.map((count) => count ?? '?').join('/')} execution(s), 409 p50 ${fmt(contention.conflictP50Ms)} ms, p99 ${fmt(contention.conflictP99Ms)} ms`,
    );
  }
  if (result.soak)
    footer.push(`soak: RSS ${result.soak.rssAfter10sMB} → ${result.soak.rssAfterSoakMB} MB (× ${result.soak.ratio.toFixed(3)}) after ${result.soak.seconds} s`);
  const failed = result.targets.filter((target) => target.status === 'FAIL').length;
  const passed = result.targets.filter((target) => target.status === 'PASS').length;
  footer.push(`targets: ${passed} pass, ${failed} fail`);
  parts.push(text(70, HEIGHT - 28, footer.join(' · '), { size: 12, fill: '#333' }));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function renderPanel(panel: Panel, left: number, scenarios: ThroughputScenario[], rounds: number, runs: ThroughputRun[], result: BenchResult): string {
  const parts: string[] = [];
  const medians = new Map(scenarios.map((scenario) => [scenario, median(runs.filter((run) => run.scenario === scenario).map(panel.value))]));
  const baseline = medians.get('baseline');
  const targetValues = baseline === undefined ? [] : panel.targets.map((target) => ({ ...target, value: baseline * target.factor }));
  const maxValue = Math.max(1, ...runs.map(panel.value), ...targetValues.map((target) => target.value));
  const { step, top } = niceScale(maxValue * 1.12);
  const y = (value: number) => PLOT_BOTTOM - ((PLOT_BOTTOM - PLOT_TOP) * value) / top;

  parts.push(text(left, PLOT_TOP - 22, panel.title, { size: 14, weight: 'bold' }));
  for (let tick = 0; tick <= top + 1e-9; tick += step) {
    parts.push(`<line x1="${left}" x2="${left + PANEL_WIDTH}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e3e3"/>`);
    parts.push(text(left - 6, y(tick) + 4, formatTick(tick), { size: 11, anchor: 'end', fill: '#666' }));
  }
  parts.push(`<line x1="${left}" x2="${left + PANEL_WIDTH}" y1="${PLOT_BOTTOM}" y2="${PLOT_BOTTOM}" stroke="#333"/>`);

  const groupWidth = PANEL_WIDTH / Math.max(1, scenarios.length);
  const barWidth = Math.min(34, (groupWidth - 24) / rounds);
  scenarios.forEach((scenario, groupIndex) => {
    const groupLeft = left + groupIndex * groupWidth + (groupWidth - barWidth * rounds) / 2;
    for (let round = 1; round <= rounds; round++) {
      const run = runs.find((candidate) => candidate.scenario === scenario && candidate.round === round);
      if (!run) continue;
      const value = panel.value(run);
      const x = groupLeft + (round - 1) * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(PLOT_BOTTOM - y(value)).toFixed(1)}" ` +
          `fill="${COLORS[scenario]}" fill-opacity="${opacity(round, rounds)}"><title>${scenario} round ${round}: ${formatValue(value)} ${panel.unit}</title></rect>`,
      );
      parts.push(text(x + (barWidth - 2) / 2, y(value) + 13, formatValue(value), { size: 9, anchor: 'middle', fill: '#fff' }));
    }
    const groupMedian = medians.get(scenario)!;
    const groupCenter = groupLeft + (barWidth * rounds) / 2;
    const highest = Math.max(...runs.filter((run) => run.scenario === scenario).map(panel.value));
    parts.push(text(groupCenter, y(highest) - 6, formatValue(groupMedian), { size: 13, anchor: 'middle', weight: 'bold', fill: COLORS[scenario], halo: true }));
    parts.push(text(groupCenter, PLOT_BOTTOM + 18, scenario, { size: 13, anchor: 'middle' }));
    const ratio = result.summary.scenarios.find((summary) => summary.scenario === scenario)?.vsBaseline?.[panel.ratio];
    if (ratio !== undefined) parts.push(text(groupCenter, PLOT_BOTTOM + 34, `${ratio.toFixed(2)}× baseline`, { size: 11, anchor: 'middle', fill: '#555' }));
  });

  for (const target of targetValues) {
    parts.push(
      `<line x1="${left}" x2="${left + PANEL_WIDTH}" y1="${y(target.value).toFixed(1)}" y2="${y(target.value).toFixed(1)}" stroke="#c0392b" stroke-dasharray="5,4"/>`,
    );
    parts.push(text(left + PANEL_WIDTH + 4, y(target.value) + 4, target.label, { size: 11, fill: '#c0392b' }));
  }
  return parts.join('\n');
}

function opacity(round: number, rounds: number): string {
  return rounds <= 1 ? '1' : (1 - (0.45 * (round - 1)) / (rounds - 1)).toFixed(2);
}

function niceScale(max: number): { step: number; top: number } {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough)!;
  return { step, top: Math.ceil(max / step) * step };
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function fmt(value: number | null): string {
  return value === null ? '–' : value.toFixed(1);
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; fill?: string; halo?: boolean } = {},
): string {
  return (
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${style.size ?? 12}" text-anchor="${style.anchor ?? 'start'}"` +
    `${style.weight ? ` font-weight="${style.weight}"` : ''}${style.halo ? ' paint-order="stroke" stroke="#fff" stroke-width="3"' : ''}` +
    ` fill="${style.fill ?? '#222'}">${escapeXml(content)}</text>`
  );
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
