import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

const CLIENT_PACKAGE = '@idempotent-payments/client';

const workflow = (name: string) => parse(readFileSync(`.github/workflows/${name}`, 'utf8')) as Workflow;
const steps = (flow: Workflow) => Object.values(flow.jobs).flatMap((job) => job.steps);

/** The GitHub workflows: they parse, CI runs .ci/run, a release publishes the packages with provenance after their tests. */
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

  describe('a published release', () => {
    const release = workflow('release.yml');
    const runs = steps(release).map((step) => step.run ?? '');
    /** Where each package's tests run: the idempotency package's own suite, the service's tests of the client. */
    const testSteps = {
      'packages/nestjs-idempotency': runs.findIndex((run) => /npm test --workspace packages\/nestjs-idempotency\b/.test(run)),
      'packages/payments-client': runs.findIndex((run) => /\bjest\b.*payments-client/.test(run)),
    };

    it('runs when a release is published, with read-only contents and the OIDC token provenance needs', () => {
      expect(release.on).toEqual({ release: { types: ['published'] } });
      expect(release.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    });

    it.each(Object.keys(testSteps))('publishes %s with provenance, once the tests of every package passed', (dir) => {
      const publish = runs.findIndex((run) => /npm publish\b.*--provenance/.test(run) && run.includes(`--workspace ${dir}`));
      expect(publish).toBeGreaterThanOrEqual(0);
      expect(runs[publish]).toContain('--access public');
      expect(steps(release)[publish].env).toEqual({ NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}' });
      for (const test of Object.values(testSteps)) {
        expect(test).toBeGreaterThanOrEqual(0);
        expect(publish).toBeGreaterThan(test);
      }
      expect(runs.some((run) => run.includes('GITHUB_REF_NAME') && run.includes(dir))).toBe(true);
      expect(runs.some((run, index) => index < publish && /npm pkg set repository\./.test(run) && run.includes(dir))).toBe(true);
    });

    it('publishes nothing else', () => {
      expect(runs.filter((run) => /npm publish\b/.test(run))).toHaveLength(Object.keys(testSteps).length);
    });

    it('runs every test file that imports the client package', () => {
      const pattern = new RegExp(/\bjest '([^']+)'/.exec(runs[testSteps['packages/payments-client']])![1]);
      const clientTests = readdirSync('test', { recursive: true, encoding: 'utf8' })
        .filter((file) => /\.(e2e-)?spec\.ts$/.test(file) && readFileSync(join('test', file), 'utf8').includes(`from '${CLIENT_PACKAGE}'`))
        .map((file) => join('test', file));
      expect(clientTests.length).toBeGreaterThan(0);
      expect(clientTests.filter((file) => !pattern.test(file))).toEqual([]);
    });
  });
});
