import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, { 'runs-on': string; steps: Step[] }>;
}

const workflow = (name: string) => parse(readFileSync(`.github/workflows/${name}`, 'utf8')) as Workflow;
const steps = (flow: Workflow) => Object.values(flow.jobs).flatMap((job) => job.steps);

/** The GitHub workflows: they parse, CI runs .ci/run, a release publishes the package with provenance after its tests. */
describe('GitHub workflows', () => {
  it('CI runs .ci/run on Node 20 on every push and pull request', () => {
    const ci = workflow('ci.yml');
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(Object.values(ci.jobs).every((job) => job['runs-on'].startsWith('ubuntu'))).toBe(true);
    expect(steps(ci)).toContainEqual(
      expect.objectContaining({ uses: expect.stringMatching(/^actions\/setup-node@/), with: expect.objectContaining({ 'node-version': 20 }) }),
    );
    expect(steps(ci).some((step) => /(^|\s)(bash\s+)?\.ci\/run\b/.test(step.run ?? ''))).toBe(true);
  });

  it('a published release tests the package, then publishes it with provenance', () => {
    const release = workflow('release.yml');
    expect(release.on).toEqual({ release: { types: ['published'] } });
    expect(release.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const runs = steps(release).map((step) => step.run ?? '');
    const test = runs.findIndex((run) => /npm test --workspace packages\/nestjs-idempotency/.test(run));
    const publish = runs.findIndex((run) => /npm publish\b.*--provenance/.test(run));
    expect(test).toBeGreaterThanOrEqual(0);
    expect(publish).toBeGreaterThan(test);
    expect(runs[publish]).toContain('--access public');
    expect(runs[publish]).toContain('--workspace packages/nestjs-idempotency');
    expect(steps(release)[publish].env).toEqual({ NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}' });
  });
});
