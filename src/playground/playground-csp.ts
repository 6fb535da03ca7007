import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLIC_DIR } from './playground.module.js';

/**
 * helmet's default `script-src 'self'` plus the hash of the page's import map. Browsers read an
 * import map only inline, and the CSP refuses inline scripts; the hash allows that one script and
 * no other. It is taken from the file at start, so editing the map needs no second edit here.
 */
export function playgroundScriptSources(): string[] {
  const page = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page)?.[1];
  if (importMap === undefined) throw new Error(`${join(PUBLIC_DIR, 'index.html')} has no <script type="importmap">`);
  // The browser hashes the text as parsed, where the HTML parser has turned CRLF and CR into LF.
  const parsed = importMap.replace(/\r\n?/g, '\n');
  return ["'self'", `'sha256-${createHash('sha256').update(parsed).digest('base64')}'`];
}
