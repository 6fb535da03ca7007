/** What a run measures: its sides (processes), and which scenario runs on which side, in which order. */
import type { BenchOptions } from './processes.js';

export const HTTP_ADAPTERS = ['fastify', 'express'] as const;
export type HttpAdapter = (typeof HTTP_ADAPTERS)[number];
/** The service's default adapter: the baseline, mixed, contention, the soak and the profiles run on it. */
export const DEFAULT_ADAPTER: HttpAdapter = 'fastify';
export const THROUGHPUT_SCENARIOS = ['baseline', 'fresh', 'replay', 'mixed'] as const;
export const ALL_SCENARIOS = [...THROUGHPUT_SCENARIOS, 'contention', 'layer'] as const;
export type ThroughputScenario = (typeof THROUGHPUT_SCENARIOS)[number];
export type Scenario = (typeof ALL_SCENARIOS)[number];

/** The idempotency package alone on a trivial route (bench/layer-server.ts): bare, behind our layer on each store, behind the peer package. */
const LAYER_VARIANTS = ['bare', 'memory', 'redis', 'redis passthrough', 'peer', 'postgres', 'tiered'] as const;
type LayerVariant = (typeof LAYER_VARIANTS)[number];
export type LayerSide = `layer ${HttpAdapter} ${LayerVariant}`;

/**
 * baseline: this build without the idempotency layer (bench/baseline.ts); an adapter: the service
 * on it; worker: the service with the events worker (dist/worker.js) beside it; ref: the service at
 * `--ref`; a layer side: bench/layer-server.ts, started for each run.
 */
export type Side = 'baseline' | HttpAdapter | 'worker' | 'ref' | LayerSide;

type SideOptions = Pick<BenchOptions, 'scenarios' | 'adapters' | 'ref'>;

export const isLayerSide = (side: Side): side is LayerSide => side.startsWith('layer ');

export function layerVariant(side: LayerSide): { adapter: HttpAdapter; variant: LayerVariant } {
  const [, adapter, ...variant] = side.split(' ');
  return { adapter: adapter as HttpAdapter, variant: variant.join(' ') as LayerVariant };
}

function scenariosOf(side: Side): readonly ThroughputScenario[] {
  if (side === 'baseline') return ['baseline'];
  if (side === 'worker') return ['fresh'];
  if (isLayerSide(side)) return ['bare', 'redis passthrough'].includes(layerVariant(side).variant) ? ['fresh'] : ['fresh', 'replay'];
  return side === DEFAULT_ADAPTER ? ['fresh', 'replay', 'mixed'] : ['fresh', 'replay'];
}

/** The sides whose process runs for a whole round. */
function roundSides(options: SideOptions): Side[] {
  const onDefault = options.adapters.includes(DEFAULT_ADAPTER);
  return ['baseline', ...options.adapters, ...(onDefault ? (['worker'] as const) : []), ...(options.ref ? (['ref'] as const) : [])];
}

/** The durable stores on the service's adapter only, to keep the run's length. */
function layerSides(options: SideOptions): LayerSide[] {
  const variants = (adapter: HttpAdapter) => LAYER_VARIANTS.filter((variant) => adapter === DEFAULT_ADAPTER || !['postgres', 'tiered'].includes(variant));
  const sides = options.adapters.flatMap((adapter) => variants(adapter).map((variant): LayerSide => `layer ${adapter} ${variant}`));
  return options.scenarios.includes('layer') ? sides : [];
}

/** The throughput runs of a round in order: by scenario, then side, so the runs a ratio compares run back to back; then the layer's. */
export function throughputRows(options: SideOptions): Array<{ scenario: ThroughputScenario; side: Side }> {
  const sides = roundSides(options);
  const service = THROUGHPUT_SCENARIOS.filter((scenario) => options.scenarios.includes(scenario)).flatMap((scenario) =>
    sides.filter((side) => scenariosOf(side).includes(scenario)).map((side) => ({ scenario, side })),
  );
  return [...service, ...layerSides(options).flatMap((side) => scenariosOf(side).map((scenario) => ({ scenario, side })))];
}

/** Contention runs on the service on the default adapter. */
export function runsContention(options: SideOptions): boolean {
  return options.scenarios.includes('contention') && options.adapters.includes(DEFAULT_ADAPTER);
}

/** The sides that get a process (and a Redis) for every round; layer sides share one Redis and start per run. */
export function sidesInRound(options: SideOptions): Side[] {
  const rows = throughputRows(options);
  return roundSides(options).filter((side) => rows.some((row) => row.side === side) || (side === DEFAULT_ADAPTER && runsContention(options)));
}

/** `fastify`, `ref 06c35d8`, `fastify + worker`, `layer express redis`. */
export function sideName(side: Side, ref: string | null): string {
  if (side === 'worker') return `${DEFAULT_ADAPTER} + worker`;
  return side === 'ref' ? `ref ${ref}` : side;
}

/** A row of the report: `baseline`, `fresh (fastify)`, `replay (layer fastify peer)`. */
export function rowLabel(scenario: ThroughputScenario, side: Side, ref: string | null): string {
  return side === 'baseline' ? scenario : `${scenario} (${sideName(side, ref)})`;
}
