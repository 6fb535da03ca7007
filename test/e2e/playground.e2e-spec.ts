import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { ledgerCount, setBehavior } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const CHROMIUM = '/usr/bin/chromium';
/** The picture in docs/playground.md, rewritten only when asked (`npm run docs:screenshot`); other runs write a scratch file. */
const DOCS_SCREENSHOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/playground.png');
const LATENCY_MS = 300;

const describeInBrowser = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) {
  console.warn(`The playground browser tests are skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

/** Rows of the request log, as the page marks them. */
async function logRows(page: Page): Promise<Array<{ kind: string; status: string; cached: string; key: string; chargeId: string }>> {
  return page.$$eval('#log-body tr', (rows) =>
    rows.map((row) => {
      const data = (row as HTMLElement).dataset;
      return { kind: data.kind ?? '', status: data.status ?? '', cached: data.cached ?? '', key: data.key ?? '', chargeId: data.chargeId ?? '' };
    }),
  );
}

/** The rows a batch added to the request log (newest first), whatever earlier tests left in it. */
async function rowsAddedBy(page: Page, batch: () => Promise<void>): ReturnType<typeof logRows> {
  const before = (await logRows(page)).length;
  await batch();
  const all = await logRows(page);
  return all.slice(0, all.length - before);
}

/** Clicks (twice for a double click), then waits until the page has finished each click's batch (its requests and the ledger refresh). */
async function clickAndSettle(page: Page, selector: string, clickCount = 1): Promise<void> {
  const settled = await batchesAfter(page, clickCount);
  await page.click(selector, { clickCount });
  await settled();
}

/** Waits, when called, until the page has finished `count` more batches than it has now. */
async function batchesAfter(page: Page, count: number): Promise<() => Promise<void>> {
  const target = Number((await page.getAttribute('body', 'data-batches')) ?? '0') + count;
  return async () => {
    await page.waitForFunction((batches) => Number(document.body.dataset.batches ?? '0') >= batches, target, { timeout: 30_000 });
  };
}

/** How the client package ended the last single payment, as the page marks it. */
async function lastPayment(page: Page): Promise<{ result: string; attempts: number; replayed: string; chargeId: string }> {
  return page.$eval('#last-response', (line) => {
    const data = (line as HTMLElement).dataset;
    return { result: data.result ?? '', attempts: Number(data.attempts), replayed: data.replayed ?? '', chargeId: data.chargeId ?? '' };
  });
}

/** Chooses the client behaviour and starts a new checkout; returns the key line (the checkout's key with one key per checkout). */
async function startCheckout(page: Page, mode: 'checkout' | 'click'): Promise<string> {
  await page.click(`label[for="mode-${mode}"]`);
  await page.click('#new-checkout');
  return (await page.textContent('#current-key'))!.trim();
}

/** Moves a gateway slider by keyboard (End: 100 %, Home: 0 %) and waits until the page has saved it. */
async function setSlider(page: Page, selector: string, key: 'End' | 'Home', saved: RegExp): Promise<void> {
  await page.focus(selector);
  await page.keyboard.press(key);
  await page.waitForFunction((pattern) => new RegExp(pattern).test(document.getElementById('gateway-status')?.textContent ?? ''), saved.source);
}

describeInBrowser(`the checkout playground at / (needs ${CHROMIUM}: apt-get install -y chromium)`, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let service: TestApp;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  /** Chrome logs every non-2xx fetch as a console error; the 402s, 409s and 502s of a charge are the point of the page. */
  const expectedFailure = /^Failed to load resource: the server responded with a status of (402|409|502) /;

  beforeAll(async () => {
    redis = await startRedis();
    // A stored 502 expires after a second, so the client's retry runs the key again within the test.
    service = await startTestApp(redis.url, { IDEMPOTENCY_ERROR_TTL_SECONDS: '1' });
    await setBehavior(service.baseUrl, { minDelayMs: LATENCY_MS, maxDelayMs: LATENCY_MS, failureRate: 0, declineRate: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (expectedFailure.test(message.text()) && message.location().url === service.baseUrl + '/api/payments/charge') return;
      consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    // Nothing but this service: no CDN, no fonts.
    page.on('request', (sent) => {
      if (!sent.url().startsWith(service.baseUrl)) consoleErrors.push(`external request: ${sent.url()}`);
    });
    await page.goto(service.baseUrl + '/');
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => /Current:/.test(document.getElementById('gateway-status')?.textContent ?? ''));
  });

  // No console errors and no external requests: checked after each test rather than by a last one, so it holds in any order
  // (--randomize) and a failure names the test that caused it.
  afterEach(() => {
    expect(consoleErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await redis?.stop();
  });

  it('serves the page beside the API, whose routes answer as before', async () => {
    const home = await request(service.baseUrl).get('/').expect(200);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    // The import map is inline: allowed by its hash, with no 'unsafe-inline'.
    expect(home.headers['content-security-policy']).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    await request(service.baseUrl)
      .get('/index.html')
      .expect(200)
      .expect('Content-Type', /^text\/html/);
    for (const module of ['/app.js', '/vendor/payments-client/index.js', '/vendor/openapi-fetch/index.mjs']) {
      await request(service.baseUrl)
        .get(module)
        .expect(200)
        .expect('Content-Type', /javascript/);
    }
    const health = await request(service.baseUrl).get('/health').expect(200);
    expect(health.body).toEqual(expect.objectContaining({ status: 'ok' }));
    const unknownApi = await request(service.baseUrl).get('/api/nothing-here').expect(404);
    expect(unknownApi.headers['content-type']).toMatch(/^application\/problem\+json/);
    await request(service.baseUrl).get('/not-a-page').expect(404);
    expect(await page.title()).toMatch(/Checkout playground/);
    expect(await page.inputValue('#min-delay')).toBe(String(LATENCY_MS));
  });

  it('one key per checkout: ten concurrent clicks make exactly one charge, and the client brings each of them to it', async () => {
    const key = await startCheckout(page, 'checkout');
    expect(key).toMatch(/^[0-9a-f-]{36}$/);

    const rows = await rowsAddedBy(page, () => clickAndSettle(page, '#pay-ten'));
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(rows.every((row) => row.key === key)).toBe(true);
    expect(rows.filter((row) => row.kind === 'fresh')).toHaveLength(1);
    // Each payment ends with a 201: the client retries a 409 until it gets the stored charge.
    const charged = rows.filter((row) => row.status === '201');
    expect(charged).toHaveLength(10);
    expect(new Set(charged.map((row) => row.chargeId)).size).toBe(1);
    expect(rows.filter((row) => row.status !== '201').every((row) => row.kind === 'in-progress')).toBe(true);
    expect(await page.textContent('#last-response')).toContain(`10 payments in ${rows.length} requests: 10 paid with 1 charge, 0 refused, 0 not settled`);
    // Marked in words too, not by colour alone.
    const badges = (await page.$$eval('#log-body tr .badge', (marks) => marks.map((mark) => mark.textContent))).slice(0, rows.length);
    expect(badges.filter((badge) => badge === 'replay')).toHaveLength(9);
    expect(await page.textContent('#ledger-count')).toBe('1');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('one key per checkout: a double click is one charge; the click refused as in progress (409) is retried with the same key', async () => {
    const key = await startCheckout(page, 'checkout');

    const rows = await rowsAddedBy(page, () => clickAndSettle(page, '#pay', 2));
    expect(rows.every((row) => row.key === key)).toBe(true);
    const fresh = rows.filter((row) => row.kind === 'fresh');
    expect(fresh).toHaveLength(1);
    expect(rows.filter((row) => row.status === '409').length).toBeGreaterThanOrEqual(1);
    // The retried click ends last, with the charge the first one made, replayed.
    expect(rows[0]).toEqual(expect.objectContaining({ status: '201', cached: 'true', chargeId: fresh[0]!.chargeId }));
    const payment = await lastPayment(page);
    expect(payment).toEqual({ result: 'paid', attempts: rows.length - 1, replayed: 'true', chargeId: fresh[0]!.chargeId });
    expect(await page.textContent('#last-response')).toMatch(/^Last payment: Paid in \d+ attempts: charge ch_\w+, replayed/);
    expect(await page.textContent('#ledger-count')).toBe('1');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('one key per checkout: a failed answer (502) is retried with the same key until the gateway charges, once', async () => {
    const key = await startCheckout(page, 'checkout');
    await setSlider(page, '#failure-rate', 'End', /^Saved:.*failure 100 %/);

    const settled = await batchesAfter(page, 1);
    await page.click('#pay');
    await page.waitForSelector(`#log-body tr[data-key="${key}"][data-status="502"]`);
    // The gateway recovers while the client waits to retry.
    await setSlider(page, '#failure-rate', 'Home', /^Saved:.*failure 0 %/);
    await settled();

    const rows = (await logRows(page)).filter((row) => row.key === key).reverse();
    expect(rows[0]).toEqual(expect.objectContaining({ status: '502', cached: 'false' }));
    expect(rows.at(-1)).toEqual(expect.objectContaining({ status: '201', kind: 'fresh' }));
    expect(rows.slice(0, -1).every((row) => row.status === '502')).toBe(true);
    // Every attempt the client made is in the log, all with the checkout's key.
    expect(await lastPayment(page)).toEqual({ result: 'paid', attempts: rows.length, replayed: 'false', chargeId: rows.at(-1)!.chargeId });
    expect(await page.textContent('#ledger-count')).toBe('1');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('new key per click: ten concurrent clicks make ten charges', async () => {
    // A checkout of its own: in this mode the ledger counts every key of the checkout so far.
    await startCheckout(page, 'click');
    const rows = await rowsAddedBy(page, () => clickAndSettle(page, '#pay-ten'));
    expect(rows).toHaveLength(10);
    const keys = new Set(rows.map((row) => row.key));
    expect(keys.size).toBe(10);
    expect(rows.every((row) => row.kind === 'fresh' && row.status === '201')).toBe(true);
    expect(await page.textContent('#ledger-count')).toBe('10');
    expect(await page.locator('#ledger-keys li').count()).toBe(10);
    const ledger = await Promise.all([...keys].map((key) => ledgerCount(service.baseUrl, key)));
    expect(ledger.reduce((sum, count) => sum + count, 0)).toBe(10);
  });

  it('decline rate 100 %: the 402 is stored, and "Retry last" replays it without calling the gateway', async () => {
    const key = await startCheckout(page, 'checkout');
    // The slider, by keyboard: End moves it to 100 % (Home back to 0 % at the end, for the other tests).
    await setSlider(page, '#decline-rate', 'End', /^Saved:.*decline 100 %/);
    expect(await page.inputValue('#decline-rate')).toBe('100');
    const behavior = await request(service.baseUrl).get('/api/admin/payment-behavior').expect(200);
    expect(behavior.body).toEqual(expect.objectContaining({ declineRate: 1, failureRate: 0, minDelayMs: LATENCY_MS, maxDelayMs: LATENCY_MS }));

    await clickAndSettle(page, '#pay');
    const [declined] = await logRows(page);
    expect(declined).toEqual(expect.objectContaining({ key, status: '402', cached: 'false', chargeId: '' }));
    // Final: the client does not retry a decline.
    expect(await lastPayment(page)).toEqual(expect.objectContaining({ result: 'refused', attempts: 1 }));
    expect(await page.textContent('#last-response')).toMatch(/Refused in 1 attempt: 402 Payment Required · CARD_DECLINED/);

    const rows = await rowsAddedBy(page, () => clickAndSettle(page, '#retry-last'));
    expect(rows).toEqual([expect.objectContaining({ key, status: '402', cached: 'true', kind: 'cached' })]);
    expect(await lastPayment(page)).toEqual(expect.objectContaining({ result: 'refused', attempts: 1 }));

    expect(await page.textContent('#ledger-count')).toBe('0');
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);
    await setSlider(page, '#decline-rate', 'Home', /^Saved:.*decline 0 %/);
  });

  it('takes a screenshot of the final state (docs/playground.png with UPDATE_SCREENSHOTS=1)', async () => {
    const scratch = process.env.UPDATE_SCREENSHOTS ? undefined : mkdtempSync(join(tmpdir(), 'playground-'));
    const screenshot = scratch ? join(scratch, 'playground.png') : DOCS_SCREENSHOT;
    rmSync(screenshot, { force: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    // No hover left on the last button clicked: move away, then let two frames pass.
    await page.mouse.move(1, 1);
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    try {
      await page.screenshot({ path: screenshot });
      expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('fits a 375 px wide phone: no horizontal scroll, Pay within the screen', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(375);
    const pay = page.locator('#pay');
    await pay.scrollIntoViewIfNeeded();
    expect(await pay.isVisible()).toBe(true);
    const box = (await pay.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
