// Checkout playground. The correct client is the project's client package, loaded as the modules it is
// built to (the import map in index.html names them); the broken client is a hand-made fetch. No
// framework, no build step, no request to anything but this service (the page runs under helmet's CSP).

import { IdempotencyKeyReusedError, PaymentNotSettledError, PaymentRejectedError, PaymentsClient } from '@idempotent-payments/client';

const CHARGE_PATH = '/api/payments/charge';
const BEHAVIOR_PATH = '/api/admin/payment-behavior';
const LEDGER_PATH = '/api/admin/provider/charges';
const LEDGER_KEYS_SHOWN = 10;
const LOG_ROWS_KEPT = 200;

const $ = (id) => document.getElementById(id);

const ui = {
  form: $('checkout-form'),
  amount: $('amount'),
  amountHint: $('amount-hint'),
  currency: $('currency'),
  customer: $('customer'),
  modeInputs: document.querySelectorAll('input[name="mode"]'),
  currentKey: $('current-key'),
  pay: $('pay'),
  payTen: $('pay-ten'),
  retryLast: $('retry-last'),
  newCheckout: $('new-checkout'),
  lastResponse: $('last-response'),
  sliders: {
    minDelayMs: $('min-delay'),
    maxDelayMs: $('max-delay'),
    failureRate: $('failure-rate'),
    declineRate: $('decline-rate'),
  },
  gatewayStatus: $('gateway-status'),
  apiKey: $('api-key'),
  adminToken: $('admin-token'),
  credentials: $('credentials'),
  ledger: $('ledger'),
  ledgerCount: $('ledger-count'),
  ledgerCaption: $('ledger-caption'),
  ledgerScope: $('ledger-scope'),
  ledgerKeys: $('ledger-keys'),
  refreshLedger: $('refresh-ledger'),
  logSummary: $('log-summary'),
  logBody: $('log-body'),
  clearLog: $('clear-log'),
};

const state = {
  /** 'checkout': one key per checkout (correct client); 'click': a new key per request (broken client). */
  mode: 'checkout',
  checkout: { key: null, keys: [] },
  /** The last request sent, for "Retry last": same key, same body. */
  last: null,
  counts: { total: 0, fresh: 0, cached: 0, inProgress: 0, other: 0 },
  inFlight: 0,
  batches: 0,
  ledgerGeneration: 0,
};

// ---- keys ----------------------------------------------------------------------------------

/** crypto.randomUUID needs a secure context (https or localhost); the fallback builds the same v4 UUID. */
function newKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A checkout: one key (correct client), or the keys of every request so far (broken client). */
function newCheckoutState() {
  if (state.mode === 'checkout') {
    const key = newKey();
    return { key, keys: [key] };
  }
  return { key: null, keys: [] };
}

/** The key for the next request: the checkout's own, or (broken client) a fresh one every time. */
function keyForRequest() {
  if (state.mode === 'checkout') return state.checkout.key;
  const key = newKey();
  state.checkout.keys.push(key);
  state.checkout.key = key;
  return key;
}

const shortKey = (key) => (key.length > 13 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key);
const shortId = (id) => (id && id.length > 14 ? `${id.slice(0, 11)}…` : (id ?? ''));

// ---- credentials (sessionStorage, this tab only) --------------------------------------------

const STORAGE = { apiKey: 'playground.apiKey', adminToken: 'playground.adminToken' };

function readStored(name) {
  try {
    return sessionStorage.getItem(name) ?? '';
  } catch {
    return '';
  }
}

function store(name, value) {
  try {
    if (value) sessionStorage.setItem(name, value);
    else sessionStorage.removeItem(name);
  } catch {
    // Storage may be disabled; the field still works for this page view.
  }
}

function merchantHeaders() {
  const apiKey = ui.apiKey.value.trim();
  return apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
}

function adminHeaders() {
  const token = ui.adminToken.value.trim();
  return token ? { 'X-Admin-Token': token } : {};
}

// ---- the checkout ---------------------------------------------------------------------------

/** One client for the page, as an application keeps one: it remembers which body each key was sent with. */
function newPaymentsClient() {
  return new PaymentsClient({ baseUrl: location.origin, apiKey: ui.apiKey.value.trim() || undefined, fetch: fetchLogged });
}

function chargeBody() {
  return {
    amount: Number(ui.amount.value),
    currency: ui.currency.value,
    customerId: ui.customer.value.trim(),
    description: 'Playground checkout',
  };
}

function renderKey() {
  if (state.mode === 'checkout') {
    ui.currentKey.textContent = state.checkout.key;
  } else {
    ui.currentKey.textContent = state.checkout.key ? `${state.checkout.key} (the latest; the next request gets a new one)` : 'a new key for every request';
  }
}

function renderAmountHint() {
  const amount = Number(ui.amount.value);
  const currency = ui.currency.value;
  if (!Number.isInteger(amount) || amount < 1) {
    ui.amountHint.textContent = 'A whole number of minor units, at least 1';
    ui.amount.setAttribute('aria-invalid', 'true');
    return;
  }
  ui.amount.removeAttribute('aria-invalid');
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    const formatted = new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount / 10 ** digits);
    ui.amountHint.textContent = `${amount} = ${formatted}`;
  } catch {
    ui.amountHint.textContent = 'In minor units (cents)';
  }
}

function startNewCheckout(reason) {
  state.checkout = newCheckoutState();
  state.last = null;
  ui.retryLast.disabled = true;
  renderKey();
  renderLedger({ perKey: [], loading: false });
  if (reason) announce(reason);
}

function announce(text) {
  ui.lastResponse.dataset.kind = '';
  ui.lastResponse.textContent = text;
}

/**
 * Sends one request and adds it to the request log: the broken client's one request, or one attempt of
 * the client package's (its fetch). Resolves with the log entry and the response, or the network error.
 */
async function sendLogged(url, init) {
  const entry = { sentAt: new Date(), key: new Headers(init.headers).get('Idempotency-Key') ?? '', status: 0, cached: null, chargeId: '', code: '', error: '' };
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    entry.status = response.status;
    entry.cached = response.headers.get('Idempotency-Cached');
    // A copy of the body: the response goes back to its caller unread.
    const json = await response
      .clone()
      .json()
      .catch(() => undefined);
    if (json && typeof json === 'object') {
      if (response.ok && typeof json.id === 'string') entry.chargeId = json.id;
      if (typeof json.code === 'string') entry.code = json.code;
    }
    return { entry, response };
  } catch (error) {
    entry.error = error instanceof Error ? error.message : String(error);
    return { entry, error };
  } finally {
    entry.latencyMs = performance.now() - started;
    entry.kind = kindOf(entry);
    logEntry(entry);
  }
}

/** The client package's fetch: every attempt it makes, its retries included, is a row of the log. */
async function fetchLogged(url, init) {
  const { response, error } = await sendLogged(url, init);
  if (!response) throw error;
  return response;
}

/** The broken client: one hand-made request per click, no retry. Never throws. */
async function payWithoutClient(key, body) {
  const { entry } = await sendLogged(CHARGE_PATH, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key, ...merchantHeaders() },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  return { kind: entry.kind, text: describe(entry), entry };
}

/** The correct client: PaymentsClient.charge, which retries what a retry can change with the same key. Never throws. */
async function payWithClient(key, body) {
  try {
    const { charge, attempts, replayed } = await paymentsClient.charge(body, { idempotencyKey: key });
    const answer = replayed ? 'replayed (Idempotency-Cached: true)' : 'fresh (Idempotency-Cached: false)';
    return {
      kind: replayed ? 'cached' : 'fresh',
      result: 'paid',
      attempts,
      replayed,
      chargeId: charge.id,
      text: `Paid in ${attemptsText(attempts)}: charge ${charge.id}, ${answer}`,
    };
  } catch (error) {
    const failed = { kind: 'error', attempts: error.attempts ?? 0, replayed: false, chargeId: '' };
    if (error instanceof PaymentRejectedError) {
      const answer = [`${error.status} ${STATUS_TEXT[error.status] ?? ''}`.trim(), error.code].filter(Boolean).join(' · ');
      return { ...failed, result: 'refused', text: `Refused in ${attemptsText(error.attempts)}: ${answer}; final, so the client does not retry it` };
    }
    if (error instanceof PaymentNotSettledError) {
      const last = error.lastStatus === undefined ? 'no answer' : String(error.lastStatus);
      const ended = error.reason === 'deadline' ? 'its deadline passed' : 'it ran out of attempts';
      return {
        ...failed,
        result: 'not-settled',
        text: `Not settled in ${attemptsText(error.attempts)} (${ended}; the last got ${last}): Retry last sends it again with the same key`,
      };
    }
    if (error instanceof IdempotencyKeyReusedError) {
      return {
        ...failed,
        result: 'not-sent',
        text: "Not sent: the client already sent this checkout's key with another body; another payment needs a New checkout",
      };
    }
    return { ...failed, result: 'not-sent', text: `Not sent: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const attemptsText = (count) => `${count} ${count === 1 ? 'attempt' : 'attempts'}`;

function kindOf(entry) {
  if (entry.status === 0) return 'error';
  if (entry.status === 409) return 'in-progress';
  if (entry.cached === 'true') return 'cached';
  if (entry.status >= 200 && entry.status < 300) return 'fresh';
  return 'error';
}

const KIND_LABEL = { fresh: 'charged', cached: 'replay', 'in-progress': 'in progress', error: '' };
const STATUS_TEXT = {
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function describe(entry) {
  if (entry.status === 0) return `No response: ${entry.error || 'network error'}`;
  const parts = [`${entry.status} ${STATUS_TEXT[entry.status] ?? ''}`.trim()];
  if (entry.code) parts.push(entry.code);
  if (entry.cached === 'true') parts.push('replayed (Idempotency-Cached: true)');
  else if (entry.cached === 'false') parts.push('fresh (Idempotency-Cached: false)');
  if (entry.chargeId) parts.push(`charge ${entry.chargeId}`);
  return parts.join(' · ');
}

/** Pays once per key, all together, then updates the summary, the "last response" line and the ledger once. */
async function runBatch(count) {
  if (!ui.form.reportValidity()) return;
  const body = chargeBody();
  const keys = Array.from({ length: count }, () => keyForRequest());
  renderKey();
  await pay(keys, body);
}

async function retryLast() {
  if (!state.last) return;
  await pay([state.last.key], state.last.body);
}

async function pay(keys, body) {
  state.last = { key: keys[keys.length - 1], body };
  ui.retryLast.disabled = false;
  const viaClient = state.mode === 'checkout';
  setInFlight(keys.length);
  const outcomes = await Promise.all(keys.map((key) => (viaClient ? payWithClient(key, body) : payWithoutClient(key, body))));
  setInFlight(-keys.length);
  showOutcomes(outcomes, viaClient);
  renderSummary();
  await refreshLedger();
  state.batches += 1;
  document.body.dataset.batches = String(state.batches);
}

function setInFlight(change) {
  state.inFlight += change;
  document.body.dataset.inFlight = String(state.inFlight);
}

function showOutcomes(outcomes, viaClient) {
  const single = outcomes.length === 1 ? outcomes[0] : undefined;
  ui.lastResponse.dataset.kind = single?.kind ?? '';
  if (single) ui.lastResponse.textContent = viaClient ? `Last payment: ${single.text}` : `Last response: ${single.text}`;
  else ui.lastResponse.textContent = `Last batch: ${viaClient ? paymentsSummary(outcomes) : requestsSummary(outcomes.map(({ entry }) => entry))}`;
  // How the client package ended a single payment, for a reader of the page's markup (the tests).
  const payment = viaClient ? single : undefined;
  Object.assign(ui.lastResponse.dataset, {
    result: payment?.result ?? '',
    attempts: String(payment?.attempts ?? ''),
    replayed: String(payment?.replayed ?? ''),
    chargeId: payment?.chargeId ?? '',
  });
}

function requestsSummary(entries) {
  const by = (kind) => entries.filter((entry) => entry.kind === kind).length;
  return `${entries.length} requests: ${by('fresh')} charged, ${by('cached')} replayed, ${by('in-progress')} in progress (409), ${by('error')} other`;
}

function paymentsSummary(outcomes) {
  const by = (result) => outcomes.filter((outcome) => outcome.result === result).length;
  const requests = outcomes.reduce((sum, outcome) => sum + outcome.attempts, 0);
  const charges = new Set(outcomes.map((outcome) => outcome.chargeId).filter(Boolean)).size;
  return `${outcomes.length} payments in ${requests} requests: ${by('paid')} paid with ${charges} ${charges === 1 ? 'charge' : 'charges'}, ${by('refused')} refused, ${by('not-settled') + by('not-sent')} not settled`;
}

// ---- the log --------------------------------------------------------------------------------

function cell(text, className, title) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  if (title) td.title = title;
  return td;
}

function logEntry(entry) {
  state.counts.total += 1;
  if (entry.kind === 'fresh') state.counts.fresh += 1;
  else if (entry.kind === 'cached') state.counts.cached += 1;
  else if (entry.kind === 'in-progress') state.counts.inProgress += 1;
  else state.counts.other += 1;

  const row = document.createElement('tr');
  row.dataset.kind = entry.kind;
  row.dataset.status = String(entry.status);
  row.dataset.key = entry.key;
  row.dataset.cached = entry.cached ?? '';
  row.dataset.chargeId = entry.chargeId;

  const time = entry.sentAt.toLocaleTimeString('en-GB', { hour12: false }) + `.${String(entry.sentAt.getMilliseconds()).padStart(3, '0')}`;
  row.append(cell(time, 'mono'));
  row.append(cell(shortKey(entry.key), 'mono', entry.key));

  const status = cell(entry.status === 0 ? 'failed' : String(entry.status), '', describe(entry));
  const label = KIND_LABEL[entry.kind] || entry.code.toLowerCase().replaceAll('_', ' ') || (entry.status === 0 ? 'network' : '');
  if (label) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = label;
    status.append(badge);
  }
  row.append(status);
  row.append(cell(entry.cached ?? '–', 'mono'));
  row.append(cell(entry.chargeId ? shortId(entry.chargeId) : '–', 'mono', entry.chargeId || undefined));
  row.append(cell(`${Math.round(entry.latencyMs)} ms`, 'num'));

  ui.logBody.prepend(row);
  while (ui.logBody.rows.length > LOG_ROWS_KEPT) ui.logBody.deleteRow(-1);
}

function renderSummary() {
  const { total, fresh, cached, inProgress, other } = state.counts;
  ui.logSummary.textContent =
    total === 0
      ? 'No requests yet.'
      : `${total} requests: ${fresh} charged fresh, ${cached} replayed (cached), ${inProgress} refused as in progress (409), ${other} other.`;
}

function clearLog() {
  ui.logBody.replaceChildren();
  state.counts = { total: 0, fresh: 0, cached: 0, inProgress: 0, other: 0 };
  renderSummary();
}

// ---- the ledger -----------------------------------------------------------------------------

async function fetchCharges(key) {
  const response = await fetch(`${LEDGER_PATH}?idempotencyKey=${encodeURIComponent(key)}`, { headers: adminHeaders(), cache: 'no-store' });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(`${response.status} ${problem.code ?? ''}`.trim());
  }
  const body = await response.json();
  return Array.isArray(body.charges) ? body.charges : [];
}

async function refreshLedger() {
  const generation = ++state.ledgerGeneration;
  const keys = state.checkout.keys.slice(-LEDGER_KEYS_SHOWN);
  ui.ledger.setAttribute('aria-busy', 'true');
  try {
    const perKey = await Promise.all(keys.map(async (key) => ({ key, charges: await fetchCharges(key) })));
    if (generation === state.ledgerGeneration) renderLedger({ perKey, loading: false });
  } catch (error) {
    if (generation === state.ledgerGeneration) {
      ui.ledgerScope.textContent = `Could not read the ledger (${error.message}). The admin routes may need the admin token: see Credentials.`;
      ui.ledgerScope.dataset.kind = 'error';
    }
  } finally {
    if (generation === state.ledgerGeneration) ui.ledger.setAttribute('aria-busy', 'false');
  }
}

function renderLedger({ perKey }) {
  const total = perKey.reduce((sum, { charges }) => sum + charges.length, 0);
  ui.ledgerCount.textContent = String(total);
  ui.ledgerCount.dataset.state = total === 0 ? 'empty' : total === 1 ? 'one' : 'many';
  const allKeys = state.checkout.keys.length;
  if (state.mode === 'checkout') {
    ui.ledgerCaption.textContent = total === 1 ? 'charge made for this checkout' : 'charges made for this checkout';
    ui.ledgerScope.textContent = `One key for the whole checkout: ${shortKey(state.checkout.key)}.`;
  } else {
    ui.ledgerCaption.textContent = `${total === 1 ? 'charge' : 'charges'} made for this checkout's ${allKeys > LEDGER_KEYS_SHOWN ? `last ${LEDGER_KEYS_SHOWN} of ${allKeys}` : allKeys} ${allKeys === 1 ? 'key' : 'keys'}`;
    ui.ledgerScope.textContent = 'A new key for every click: the gateway cannot tell a retry from a new purchase.';
  }
  delete ui.ledgerScope.dataset.kind;
  // One key per checkout needs no per-key list: the figure above is that key's.
  ui.ledgerKeys.hidden = state.mode === 'checkout';
  ui.ledgerKeys.replaceChildren(
    ...perKey
      .slice()
      .reverse()
      .map(({ key, charges }) => {
        const item = document.createElement('li');
        const name = document.createElement('code');
        name.textContent = shortKey(key);
        name.title = key;
        const count = document.createElement('span');
        count.className = 'charges';
        count.textContent = `${charges.length} ${charges.length === 1 ? 'charge' : 'charges'}`;
        if (charges.length) count.title = charges.map((charge) => charge.id).join('\n');
        item.append(name, count);
        return item;
      }),
  );
}

// ---- the mock gateway -----------------------------------------------------------------------

const percent = (input) => Number(input.value) / 100;

function renderSliderOutputs() {
  const { minDelayMs, maxDelayMs, failureRate, declineRate } = ui.sliders;
  $('min-delay-out').value = `${minDelayMs.value} ms`;
  $('max-delay-out').value = `${maxDelayMs.value} ms`;
  $('failure-rate-out').value = `${failureRate.value} %`;
  $('decline-rate-out').value = `${declineRate.value} %`;
  for (const input of Object.values(ui.sliders)) {
    input.setAttribute('aria-valuetext', input.id.endsWith('rate') ? `${input.value} percent` : `${input.value} milliseconds`);
  }
}

/** Keeps min ≤ max and failure + decline ≤ 100 %, moving the other slider of the pair. */
function keepConsistent(changed) {
  const { minDelayMs, maxDelayMs, failureRate, declineRate } = ui.sliders;
  if (Number(minDelayMs.value) > Number(maxDelayMs.value)) {
    if (changed === minDelayMs) maxDelayMs.value = minDelayMs.value;
    else minDelayMs.value = maxDelayMs.value;
  }
  const excess = Number(failureRate.value) + Number(declineRate.value) - 100;
  if (excess > 0) {
    const other = changed === failureRate ? declineRate : failureRate;
    other.value = String(Number(other.value) - excess);
  }
}

function setGatewayStatus(text, kind) {
  ui.gatewayStatus.textContent = text;
  if (kind) ui.gatewayStatus.dataset.kind = kind;
  else delete ui.gatewayStatus.dataset.kind;
}

function describeBehavior(behavior) {
  return `latency ${behavior.minDelayMs}–${behavior.maxDelayMs} ms, failure ${Math.round(behavior.failureRate * 100)} %, decline ${Math.round(behavior.declineRate * 100)} %`;
}

function showBehavior(behavior) {
  ui.sliders.minDelayMs.value = String(behavior.minDelayMs);
  ui.sliders.maxDelayMs.value = String(behavior.maxDelayMs);
  ui.sliders.failureRate.value = String(Math.round(behavior.failureRate * 100));
  ui.sliders.declineRate.value = String(Math.round(behavior.declineRate * 100));
  renderSliderOutputs();
}

async function loadBehavior() {
  try {
    const response = await fetch(BEHAVIOR_PATH, { headers: adminHeaders(), cache: 'no-store' });
    if (!response.ok) throw new Error(await problemText(response));
    const behavior = await response.json();
    showBehavior(behavior);
    setGatewayStatus(`Current: ${describeBehavior(behavior)}.`);
  } catch (error) {
    setGatewayStatus(`Could not read the gateway's behaviour (${error.message}). The admin routes may need the admin token: see Credentials.`, 'error');
  }
}

let saving = Promise.resolve();

/** Saves every slider; saves run one after another so the last change wins. */
function saveBehavior() {
  const changes = {
    failureRate: percent(ui.sliders.failureRate),
    declineRate: percent(ui.sliders.declineRate),
    minDelayMs: Number(ui.sliders.minDelayMs.value),
    maxDelayMs: Number(ui.sliders.maxDelayMs.value),
  };
  setGatewayStatus('Saving…');
  saving = saving.then(async () => {
    try {
      const response = await fetch(BEHAVIOR_PATH, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', ...adminHeaders() },
        body: JSON.stringify(changes),
      });
      if (!response.ok) throw new Error(await problemText(response));
      const behavior = await response.json();
      setGatewayStatus(`Saved: ${describeBehavior(behavior)}.`, 'saved');
    } catch (error) {
      setGatewayStatus(`Not saved (${error.message}).`, 'error');
    }
  });
  return saving;
}

async function problemText(response) {
  const problem = await response.json().catch(() => ({}));
  return [response.status, problem.code, problem.errors?.[0]?.message].filter(Boolean).join(' ');
}

// ---- wiring ---------------------------------------------------------------------------------

function setMode(mode) {
  state.mode = mode;
  document.body.dataset.mode = mode;
  startNewCheckout(
    mode === 'checkout'
      ? "One key per checkout, through the client package: every click, and every retry it makes, reuses the checkout's key."
      : 'New key per click: every request gets a fresh key, so the service cannot recognise retries.',
  );
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void runBatch(1);
});
ui.payTen.addEventListener('click', () => void runBatch(10));
ui.retryLast.addEventListener('click', () => void retryLast());
ui.newCheckout.addEventListener('click', () => startNewCheckout('New checkout: a new Idempotency-Key.'));
ui.refreshLedger.addEventListener('click', () => void refreshLedger());
ui.clearLog.addEventListener('click', clearLog);
for (const input of ui.modeInputs) {
  input.addEventListener('change', () => {
    if (input.checked) setMode(input.value);
  });
}
ui.amount.addEventListener('input', renderAmountHint);
ui.currency.addEventListener('change', renderAmountHint);
ui.customer.addEventListener('input', () => {
  if (ui.customer.validity.valid) ui.customer.removeAttribute('aria-invalid');
  else ui.customer.setAttribute('aria-invalid', 'true');
});
for (const input of Object.values(ui.sliders)) {
  input.addEventListener('input', () => {
    keepConsistent(input);
    renderSliderOutputs();
  });
  input.addEventListener('change', () => {
    keepConsistent(input);
    renderSliderOutputs();
    void saveBehavior();
  });
}

ui.apiKey.value = readStored(STORAGE.apiKey);
ui.adminToken.value = readStored(STORAGE.adminToken);
if (ui.apiKey.value || ui.adminToken.value) ui.credentials.open = true;
let paymentsClient = newPaymentsClient();
ui.apiKey.addEventListener('input', () => {
  store(STORAGE.apiKey, ui.apiKey.value.trim());
  paymentsClient = newPaymentsClient();
});
ui.adminToken.addEventListener('input', () => store(STORAGE.adminToken, ui.adminToken.value.trim()));
ui.adminToken.addEventListener('change', () => {
  void loadBehavior();
  void refreshLedger();
});

const initialMode = [...ui.modeInputs].find((input) => input.checked)?.value ?? 'checkout';
state.mode = initialMode;
document.body.dataset.mode = initialMode;
startNewCheckout();
renderAmountHint();
renderSliderOutputs();
renderSummary();
void loadBehavior();
document.body.dataset.ready = 'true';
