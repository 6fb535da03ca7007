import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppConfig } from '../../src/config/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The project's own documents: the README, docs/ and the tests' README. */
const DOCUMENTS = [
  'README.md',
  'test/README.md',
  ...readdirSync(join(ROOT, 'docs'), { withFileTypes: true })
    .filter((entry) => entry.name.endsWith('.md'))
    .map((entry) => `docs/${entry.name}`),
];

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Markdown without its fenced code blocks, where `](` is code, not a link. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const anchorsOf = (file: string) => new Set([...prose(read(file)).matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => anchorOf(heading)));

/** Every relative link of a document (`[text](target)` or `![alt](target)`), web addresses left out. */
const relativeLinks = (file: string) =>
  [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));

describe('the documents', () => {
  it.each(DOCUMENTS)('%s links only to files and headings that exist', (file) => {
    const broken = relativeLinks(file).filter((link) => {
      const [path, anchor] = link.split('#');
      const target = path === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), path));
      if (!existsSync(join(ROOT, target))) return true;
      return anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it('document every variable of the configuration in docs/operations.md', () => {
    const operations = read('docs/operations.md');
    expect(Object.keys(new AppConfig()).filter((name) => !operations.includes(`\`${name}\``))).toEqual([]);
  });

  it('open the README with the commands that start the service and run the tests on a fresh machine', () => {
    const opening = /^```bash\n([\s\S]*?)^```/m.exec(read('README.md'))?.[1] ?? '';
    expect(opening.split('\n').map((line) => line.split('#')[0].trim())).toEqual(['npm ci && npm start', 'npm ci && npm test', '']);
  });
});
