/** Which processes a run measures (its sides) and which scenarios each one runs. */
import { type BenchOptions, DEFAULT_ADAPTER, HTTP_ADAPTERS, type Side, THROUGHPUT_SCENARIOS, type ThroughputScenario } from './types.js';

type SideOptions = Pick<BenchOptions, 'scenarios' | 'adapters' | 'ref'>;

/**
 * The baseline runs its one scenario; the service on the default adapter fresh, replay and mixed;
 * on another adapter and at `--ref` fresh and replay, the rows their ratios are taken on.
 */
function scenariosOf(side: Side): readonly ThroughputScenario[] {
  if (side === 'baseline') return ['baseline'];
  // The event path's CPU, measured apart: the service without it and the events worker beside it.
  if (side === 'worker') return ['fresh'];
  return side === DEFAULT_ADAPTER ? ['fresh', 'replay', 'mixed'] : ['fresh', 'replay'];
}

function sidesOf(options: SideOptions): Side[] {
  return [
    'baseline',
    ...HTTP_ADAPTERS.filter((adapter) => options.adapters.includes(adapter)),
    ...(options.adapters.includes(DEFAULT_ADAPTER) ? (['worker'] as const) : []),
    ...(options.ref ? (['ref'] as const) : []),
  ];
}

/** Contention runs on the service on the default adapter. */
export function runsContention(options: SideOptions): boolean {
  return options.scenarios.includes('contention') && options.adapters.includes(DEFAULT_ADAPTER);
}

/** The throughput runs of a round in their order: by scenario, then side, so the runs a ratio compares run back to back. */
export function throughputRows(options: SideOptions): Array<{ scenario: ThroughputScenario; side: Side }> {
  const sides = sidesOf(options);
  return THROUGHPUT_SCENARIOS.filter((scenario) => options.scenarios.includes(scenario)).flatMap((scenario) =>
    sides.filter((side) => scenariosOf(side).includes(scenario)).map((side) => ({ scenario, side })),
  );
}

/** The sides that get a process (and a Redis) in every round. */
export function sidesInRound(options: SideOptions): Side[] {
  const rows = throughputRows(options);
  return sidesOf(options).filter((side) => rows.some((row) => row.side === side) || (side === DEFAULT_ADAPTER && runsContention(options)));
}

/** `fastify`, `express`, `ref 06c35d8`, `baseline`, `fastify + worker`. */
export function sideName(side: Side, ref: string | null): string {
  if (side === 'worker') return `${DEFAULT_ADAPTER} + worker`;
  return side === 'ref' ? `ref ${ref}` : side;
}

/** A row of the report: `baseline`, `fresh (fastify)`, `replay (ref 06c35d8)`. */
export function rowLabel(scenario: ThroughputScenario, side: Side, ref: string | null): string {
  return side === 'baseline' ? scenario : `${scenario} (${sideName(side, ref)})`;
}
