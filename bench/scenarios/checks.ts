import { randomBytes } from 'node:crypto';
import { charge, type Context, loadOptions, log, runLoad, runningSides, storeOf } from '../lib/processes.js';
import { sideName } from '../lib/sides.js';

/** Before measuring anything: the baseline really has no idempotency layer, every service side really has one. */
export async function sanityChecks(context: Context): Promise<string[]> {
  const checks: string[] = [];
  for (const [side, service] of runningSides(context)) {
    const name = sideName(side, context.options.ref);
    const key = `sanity-${name.replace(/\s+/g, '-')}-${randomBytes(4).toString('hex')}`;
    const first = await charge(service, key);
    const second = await charge(service, key);
    if (side === 'baseline') {
      if (first.status !== 201 || second.status !== 201 || first.location !== `/api/payments/${first.id}`) {
        throw new Error(`baseline: expected 201 with the charge's Location twice, got ${JSON.stringify([first, second])}`);
      }
      // The first middleware marks the route's answers Idempotency-Cached: false; only the interceptor replays.
      if (second.cached === 'true') {
        throw new Error('the baseline replayed the second request: overrideInterceptor did not replace IdempotencyInterceptor');
      }
      checks.push('baseline: 201 with Location twice with one key, the second not a replay (the interceptor is bypassed)');
    } else {
      if (first.status !== 201 || first.cached !== 'false' || second.status !== 201 || second.cached !== 'true' || first.id !== second.id) {
        throw new Error(`service (${name}): expected 201 fresh then 201 replay of the same charge, got ${JSON.stringify([first, second])}`);
      }
      checks.push(`service (${name}): 201 Idempotency-Cached: false, then 201 Idempotency-Cached: true with the same charge id`);
    }
  }
  for (const check of checks) log(`bench: check ok: ${check}`);
  await Promise.all(Object.values(context.stores).map((store) => store.client.flushall()));
  return checks;
}

export async function warmUp(context: Context): Promise<void> {
  const seconds = context.options.warmupSeconds;
  if (seconds === 0) return;
  for (const [side, service] of runningSides(context)) {
    log(`bench: warming up ${service.name} for ${seconds} s (not measured)`);
    await runLoad(loadOptions('unique', `warm-up ${service.name}`, service, { seconds, connections: context.options.connections }));
    await storeOf(context, side).client.flushall();
  }
}
