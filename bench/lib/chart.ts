import { median } from '../../tools/stats.js';
import { sideName } from './sides.js';
import type { BenchResult, ScenarioSummary, ThroughputRun, ThroughputScenario } from './types.js';
import { DEFAULT_ADAPTER } from './types.js';

const WIDTH = 1080;
const LEFT = 70;
const PANEL_WIDTH = 860;
/** A panel: its title, the plot, then under each group its scenario, side and ratios. */
const PANEL_HEIGHT = 300;
const PLOT_HEIGHT = 190;
const FIRST_PANEL_TOP = 80;
const COLORS: Record<ThroughputScenario, string> = {
  baseline: '#7a7a7a',
  fresh: '#2f6fb3',
  replay: '#2e9a5b',
  mixed: '#8a4fb8',
};

interface Panel {
  title: string;
  unit: string;
  value: (run: ThroughputRun) => number;
  /** The ratios (medians of per-round ratios) printed under a group. */
  ratios: Array<{ of: string; pick: (summary: ScenarioSummary) => number | undefined }>;
  /** Dashed target lines: a factor of a row's median (the baseline's, the ref's), or an absolute value (`of` left out). */
  targets: Array<{ factor: number; of?: (row: ScenarioSummary) => boolean; label: string }>;
  /** The rows the panel shows (default all); runs of other rows are left out of its scale too. */
  only?: (row: ScenarioSummary) => boolean;
}

/**
 * Requests/s, p99 and CPU per request for every row (scenario and side) as grouped bars (one bar
 * per round, the median written above the group), with the issues' targets as dashed lines. A
 * hand-written SVG: no dependency.
 */
export function renderChart(result: BenchResult): string {
  const { runs } = result;
  const rows = result.summary.scenarios;
  const rounds = Math.max(1, ...runs.map((run) => run.round));
  const isBaseline = (row: ScenarioSummary) => row.side === 'baseline';
  const isRef = (scenario: ThroughputScenario) => (row: ScenarioSummary) => row.side === 'ref' && row.scenario === scenario;
  const toBaselineAndRef = (figure: 'reqPerSec' | 'cpuUs'): Panel['ratios'] => [
    { of: 'baseline', pick: (summary) => summary.vsBaseline?.[figure] },
    { of: 'ref', pick: (summary) => summary.vsRef?.[figure] },
  ];
  const allPanels: Panel[] = [
    {
      title: 'Requests per second (higher is better)',
      unit: 'req/s',
      value: (run) => run.reqPerSec,
      ratios: toBaselineAndRef('reqPerSec'),
      targets: [
        { factor: 0.85, of: isBaseline, label: 'fresh ≥ 0.85× baseline' },
        { factor: 1.3, of: isBaseline, label: 'replay ≥ 1.3× baseline' },
      ],
    },
    {
      title: 'p99 latency, ms (lower is better)',
      unit: 'ms',
      value: (run) => run.latencyMs.p99,
      ratios: [{ of: 'baseline', pick: (summary) => summary.vsBaseline?.p99 }],
      targets: [{ factor: 1.25, of: isBaseline, label: 'fresh ≤ 1.25× baseline' }],
    },
    {
      title: 'CPU time of the service per request, µs (lower is better)',
      unit: 'µs',
      value: (run) => run.cpuUsPerRequest,
      ratios: toBaselineAndRef('cpuUs'),
      targets: [
        { factor: 0.5, of: isRef('fresh'), label: 'fresh ≤ 0.5× ref' },
        { factor: 0.5, of: isRef('replay'), label: 'replay ≤ 0.5× ref' },
      ],
    },
    // Issue 24: the event path, on the fresh rows of this build (those with events figures).
    {
      title: 'Outbox lag under fresh load: p99 of the oldest unpublished event, ms (lower is better)',
      unit: 'ms',
      value: (run) => 1000 * (run.events?.lagP99S ?? 0),
      ratios: [],
      targets: [{ factor: 1000, label: 'p99 < 1 s' }],
      only: (row) => row.events?.lagP99S !== undefined && row.events.lagP99S !== null,
    },
    {
      title: 'Relaying and consuming an event: events worker CPU per event, % of a charge (lower is better)',
      unit: '%',
      value: (run) => 100 * (run.events?.shareOfCharge ?? 0),
      ratios: [],
      targets: [{ factor: 10, label: '≤ 10 % of a charge' }],
      only: (row) => row.events?.shareOfCharge !== undefined && row.events.shareOfCharge !== null,
    },
  ];
  const panels = allPanels.filter((panel) => !panel.only || rows.some(panel.only));
  const height = FIRST_PANEL_TOP + panels.length * PANEL_HEIGHT + 70;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(WIDTH / 2, 30, 'POST /api/payments/charge: what idempotency costs, by side', { size: 18, anchor: 'middle', weight: 'bold' }),
    text(
      WIDTH / 2,
      52,
      `${result.startedAt} · ${result.options.seconds} s × ${result.options.rounds} interleaved rounds · ${result.options.connections} connections · ` +
        `gateway delay 0 · Node ${result.machine.node} · ${result.machine.cpus} CPUs`,
      { size: 12, anchor: 'middle', fill: '#555' },
    ),
  );
  panels.forEach((panel, index) => parts.push(renderPanel(panel, FIRST_PANEL_TOP + index * PANEL_HEIGHT, rows, rounds, result)));

  // Legend: rounds by opacity.
  const legendY = height - 46;
  for (let round = 1; round <= rounds; round++) {
    const x = LEFT + (round - 1) * 90;
    parts.push(`<rect x="${x}" y="${legendY - 10}" width="14" height="12" fill="#555" fill-opacity="${opacity(round, rounds)}"/>`);
    parts.push(text(x + 20, legendY, `round ${round}`, { size: 12 }));
  }
  parts.push(
    text(LEFT + rounds * 90, legendY, 'above a group: median over rounds; below: medians of per-round ratios; dashed: targets', {
      size: 12,
      fill: '#555',
    }),
  );

  const footer: string[] = [];
  const contention = result.summary.contention;
  if (contention) {
    footer.push(
      `contention (${DEFAULT_ADAPTER}): ${contention.executionsPerRound.map((count) => count ?? '?').join('/')} execution(s), ` +
        `409 p99 while running ${fmt(contention.whileRunningP99Ms)} ms, ${fmt(contention.floor.burstP99Ratio)}× the floor's`,
    );
  }
  if (result.soak)
    footer.push(`soak: RSS ${result.soak.rssAfter10sMB} → ${result.soak.rssAfterSoakMB} MB (× ${result.soak.ratio.toFixed(3)}) after ${result.soak.seconds} s`);
  const failed = result.targets.filter((target) => target.status === 'FAIL').length;
  const passed = result.targets.filter((target) => target.status === 'PASS').length;
  footer.push(`targets: ${passed} pass, ${failed} fail`);
  parts.push(text(LEFT, height - 20, footer.join(' · '), { size: 12, fill: '#333' }));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function renderPanel(panel: Panel, top: number, allRows: ScenarioSummary[], rounds: number, result: BenchResult): string {
  const rows = panel.only ? allRows.filter(panel.only) : allRows;
  const runs = result.runs.filter((run) => rows.some((row) => row.label === run.label));
  const plotTop = top + 36;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const parts: string[] = [];
  const runsOf = (row: ScenarioSummary) => runs.filter((run) => run.label === row.label);
  const medianOf = (row: ScenarioSummary) => median(runsOf(row).map(panel.value));
  const targetValues = panel.targets.flatMap((target) => {
    if (!target.of) return [{ ...target, value: target.factor }];
    const reference = rows.find(target.of);
    return reference ? [{ ...target, value: medianOf(reference) * target.factor }] : [];
  });
  const maxValue = Math.max(1, ...runs.map(panel.value), ...targetValues.map((target) => target.value));
  const { step, top: scaleTop } = niceScale(maxValue * 1.12);
  const y = (value: number) => plotBottom - (PLOT_HEIGHT * value) / scaleTop;

  parts.push(text(LEFT, top + 14, panel.title, { size: 14, weight: 'bold' }));
  for (let tick = 0; tick <= scaleTop + 1e-9; tick += step) {
    parts.push(`<line x1="${LEFT}" x2="${LEFT + PANEL_WIDTH}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e3e3"/>`);
    parts.push(text(LEFT - 6, y(tick) + 4, formatTick(tick), { size: 11, anchor: 'end', fill: '#666' }));
  }
  parts.push(`<line x1="${LEFT}" x2="${LEFT + PANEL_WIDTH}" y1="${plotBottom}" y2="${plotBottom}" stroke="#333"/>`);

  const groupWidth = PANEL_WIDTH / Math.max(1, rows.length);
  const barWidth = Math.min(34, (groupWidth - 16) / rounds);
  rows.forEach((row, groupIndex) => {
    const groupLeft = LEFT + groupIndex * groupWidth + (groupWidth - barWidth * rounds) / 2;
    const color = COLORS[row.scenario];
    for (const run of runsOf(row)) {
      const value = panel.value(run);
      const x = groupLeft + (run.round - 1) * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(plotBottom - y(value)).toFixed(1)}" ` +
          `fill="${color}" fill-opacity="${opacity(run.round, rounds)}"><title>${escapeXml(row.label)} round ${run.round}: ${formatValue(value)} ${panel.unit}</title></rect>`,
      );
      parts.push(text(x + (barWidth - 2) / 2, y(value) + 13, formatValue(value), { size: 9, anchor: 'middle', fill: '#fff' }));
    }
    const groupCenter = groupLeft + (barWidth * rounds) / 2;
    const highest = Math.max(...runsOf(row).map(panel.value));
    parts.push(text(groupCenter, y(highest) - 6, formatValue(medianOf(row)), { size: 13, anchor: 'middle', weight: 'bold', fill: color, halo: true }));
    const side = row.side === 'baseline' ? `${DEFAULT_ADAPTER}, no layer` : sideName(row.side, result.options.ref);
    const under = [row.scenario, side, ...panel.ratios.flatMap(({ of, pick }) => (pick(row) === undefined ? [] : [`${pick(row)!.toFixed(2)}× ${of}`]))];
    under.forEach((line, index) =>
      parts.push(text(groupCenter, plotBottom + 16 + index * 14, line, { size: index === 0 ? 12 : 11, anchor: 'middle', fill: index === 0 ? '#222' : '#555' })),
    );
  });

  for (const target of targetValues) {
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + PANEL_WIDTH}" y1="${y(target.value).toFixed(1)}" y2="${y(target.value).toFixed(1)}" stroke="#c0392b" stroke-dasharray="5,4"/>`,
    );
    parts.push(text(LEFT + PANEL_WIDTH + 4, y(target.value) + 4, target.label, { size: 11, fill: '#c0392b' }));
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
