import { median } from '../../scripts/lib/stats.js';
import type { ThroughputRun } from '../scenarios/throughput.js';
import type { BenchResult, ScenarioSummary } from './report.js';
import type { ThroughputScenario } from './sides.js';

const WIDTH = 1080;
const LEFT = 70;
const PANEL_WIDTH = 860;
const PANEL_HEIGHT = 300;
const PLOT_HEIGHT = 190;
const TOP = 80;
const COLORS: Record<ThroughputScenario, string> = { baseline: '#7a7a7a', fresh: '#2f6fb3', replay: '#2e9a5b', mixed: '#8a4fb8' };

interface Panel {
  title: string;
  value: (run: ThroughputRun) => number;
  /** The medians of per-round ratios written under a group. */
  ratios: Array<[string, (row: ScenarioSummary) => number | null]>;
  /** Dashed target lines: a factor of a row's median (the baseline's), or an absolute value. */
  targets: Array<{ factor: number; of?: (row: ScenarioSummary) => boolean; label: string }>;
  /** The rows the panel shows (default all). */
  only?: (row: ScenarioSummary) => boolean;
}

const isBaseline = (row: ScenarioSummary) => row.side === 'baseline';
const PANELS: Panel[] = [
  {
    title: 'Requests per second (higher is better)',
    value: (run) => run.reqPerSec,
    ratios: [
      ['baseline', (row) => row.vsBaseline.reqPerSec],
      ['ref', (row) => row.vsRef.reqPerSec],
    ],
    targets: [
      { factor: 0.85, of: isBaseline, label: 'fresh ≥ 0.85× baseline' },
      { factor: 1.3, of: isBaseline, label: 'replay ≥ 1.3× baseline' },
    ],
  },
  {
    title: 'p99 latency, ms (lower is better)',
    value: (run) => run.latencyMs.p99,
    ratios: [['baseline', (row) => row.vsBaseline.p99]],
    targets: [{ factor: 1.25, of: isBaseline, label: 'fresh ≤ 1.25× baseline' }],
  },
  {
    title: 'CPU time of the process per request, µs (lower is better)',
    value: (run) => run.cpuUsPerRequest,
    ratios: [
      ['baseline', (row) => row.vsBaseline.cpuUs],
      ['ref', (row) => row.vsRef.cpuUs],
      ['bare', (row) => (row.vsBare?.against === row.side ? null : (row.vsBare?.cpuUs ?? null))],
    ],
    targets: [],
  },
  {
    title: 'Outbox lag under fresh load: p99 of the oldest unpublished event, ms (lower is better)',
    value: (run) => 1000 * (run.events?.lagP99S ?? 0),
    ratios: [],
    targets: [{ factor: 1000, label: 'p99 < 1 s' }],
    only: (row) => typeof row.events?.lagP99S === 'number',
  },
  {
    title: 'Relaying and consuming an event: events worker CPU per event, % of a charge (lower is better)',
    value: (run) => 100 * (run.events?.shareOfCharge ?? 0),
    ratios: [],
    targets: [{ factor: 10, label: '≤ 10 % of a charge' }],
    only: (row) => typeof row.events?.shareOfCharge === 'number',
  },
];

/** Every row as grouped bars (one bar per round, the median above, ratios below), targets as dashed lines: a hand-written SVG, no dependency. */
export function renderChart(result: BenchResult): string {
  const rows = result.summary.scenarios;
  const rounds = Math.max(1, ...result.runs.map((run) => run.round));
  const panels = PANELS.filter((panel) => !panel.only || rows.some(panel.only));
  const height = TOP + panels.length * PANEL_HEIGHT + 50;
  const { options, machine } = result;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(WIDTH / 2, 30, 'What idempotency costs, by scenario and side', { size: 18, anchor: 'middle', weight: 'bold' }),
    text(
      WIDTH / 2,
      52,
      `${result.startedAt} · ${options.seconds} s × ${options.rounds} interleaved rounds · ${options.connections} connections · Node ${machine.node} · ${machine.cpus} CPUs`,
      {
        anchor: 'middle',
        fill: '#555',
      },
    ),
    ...panels.map((panel, index) => renderPanel(panel, TOP + index * PANEL_HEIGHT, rows, rounds, result.runs)),
    ...Array.from({ length: rounds }, (_, index) => {
      const x = LEFT + index * 90;
      return `<rect x="${x}" y="${height - 36}" width="14" height="12" fill="#555" fill-opacity="${opacity(index + 1, rounds)}"/>${text(x + 20, height - 26, `round ${index + 1}`)}`;
    }),
    text(LEFT + rounds * 90, height - 26, 'above a group: median over rounds; below: medians of per-round ratios; dashed: targets', { fill: '#555' }),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

function renderPanel(panel: Panel, top: number, allRows: ScenarioSummary[], rounds: number, allRuns: ThroughputRun[]): string {
  const rows = panel.only ? allRows.filter(panel.only) : allRows;
  const runsOf = (row: ScenarioSummary) => allRuns.filter((run) => run.label === row.label);
  const medianOf = (row: ScenarioSummary) => median(runsOf(row).map(panel.value));
  const targets = panel.targets.flatMap((target) => {
    const reference = target.of && rows.find(target.of);
    if (target.of && !reference) return [];
    return [{ label: target.label, value: reference ? medianOf(reference) * target.factor : target.factor }];
  });
  const { step, top: scaleTop } = niceScale(1.12 * Math.max(1, ...rows.flatMap(runsOf).map(panel.value), ...targets.map((target) => target.value)));
  const bottom = top + 36 + PLOT_HEIGHT;
  const y = (value: number) => bottom - (PLOT_HEIGHT * value) / scaleTop;
  const line = (at: number, attributes: string) =>
    `<line x1="${LEFT}" x2="${LEFT + PANEL_WIDTH}" y1="${y(at).toFixed(1)}" y2="${y(at).toFixed(1)}" ${attributes}/>`;
  const parts = [text(LEFT, top + 14, panel.title, { size: 14, weight: 'bold' })];
  for (let tick = 0; tick <= scaleTop + 1e-9; tick += step)
    parts.push(line(tick, 'stroke="#e3e3e3"'), text(LEFT - 6, y(tick) + 4, String(+tick.toFixed(1)), { size: 11, anchor: 'end', fill: '#666' }));
  parts.push(line(0, 'stroke="#333"'));
  const groupWidth = PANEL_WIDTH / Math.max(1, rows.length);
  const barWidth = Math.min(34, (groupWidth - 16) / rounds);
  rows.forEach((row, index) => {
    const left = LEFT + index * groupWidth + (groupWidth - barWidth * rounds) / 2;
    const color = COLORS[row.scenario];
    for (const run of runsOf(row)) {
      const value = panel.value(run);
      const x = left + (run.round - 1) * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(bottom - y(value)).toFixed(1)}" fill="${color}" fill-opacity="${opacity(run.round, rounds)}"><title>${escapeXml(row.label)} round ${run.round}: ${figure(value)}</title></rect>`,
      );
    }
    const center = left + (barWidth * rounds) / 2;
    parts.push(
      text(center, y(Math.max(...runsOf(row).map(panel.value))) - 6, figure(medianOf(row)), { size: 13, anchor: 'middle', weight: 'bold', fill: color }),
    );
    const under = [row.scenario, row.side, ...panel.ratios.flatMap(([of, pick]) => (pick(row) === null ? [] : [`${pick(row)!.toFixed(2)}× ${of}`]))];
    under.forEach((label, line_) =>
      parts.push(text(center, bottom + 16 + line_ * 14, label, { size: 11, anchor: 'middle', fill: line_ === 0 ? '#222' : '#555' })),
    );
  });
  for (const target of targets)
    parts.push(
      line(target.value, 'stroke="#c0392b" stroke-dasharray="5,4"'),
      text(LEFT + PANEL_WIDTH + 4, y(target.value) + 4, target.label, { size: 11, fill: '#c0392b' }),
    );
  return parts.join('\n');
}

const opacity = (round: number, rounds: number) => (rounds <= 1 ? '1' : (1 - (0.45 * (round - 1)) / (rounds - 1)).toFixed(2));
const figure = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

function niceScale(max: number): { step: number; top: number } {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough)!;
  return { step, top: Math.ceil(max / step) * step };
}

function text(x: number, y: number, content: string, style: { size?: number; anchor?: string; weight?: string; fill?: string } = {}): string {
  const { size = 12, anchor = 'start', weight = 'normal', fill = '#222' } = style;
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="${fill}">${escapeXml(content)}</text>`;
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
