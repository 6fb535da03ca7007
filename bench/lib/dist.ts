/**
 * Loads a module of the COMPILED service (dist/, what `npm run build` produced) while typing it
 * from its source in src/: `fromDist<typeof import('../../src/x.js')>('x.js')`. The baseline must
 * run the very code production runs, and share its module instances (the interceptor class that
 * gets overridden, the IDEMPOTENCY_CONTEXT symbol) with the app it composes.
 */
export async function fromDist<Module>(path: string): Promise<Module> {
  return (await import(new URL(`../../dist/${path}`, import.meta.url).href)) as Module;
}
