// Drives the mcp-ws inspector page in Debian's Chromium (/usr/bin/chromium through
// playwright-core, which never downloads a browser), the way a person would: it waits for the
// page to connect by itself, fills the generated form of `add`, runs `slow_count` and cancels
// it, reads `demo://readme`, answers the server's `roots/list` (legacy era), checks the message
// log, and optionally survives a server restart.
//
// Usage: node tests/interop/inspector.mjs PAGE_URL --shots DIR [--scenario demo|extras]
//        [--restart] [--timeout S]
//
// Scenario `demo` (the default) runs against a server with the demo contract: besides the
// above, the 2026-07-28 `input_required` rounds of `confirm` and `list_roots`, a resource
// subscription whose update shows in the Notifications tab (subscriptions/listen, then legacy
// resources/subscribe), and a re-run from the History tab. Scenario `extras` runs against the
// test router with a completing prompt: completion suggestions, one round asking for roots,
// sampling and elicitation at once, two rounds in a row, and an abandoned round.
//
// With --restart it prints `KILL` on stdout and waits for a line on stdin (the server is gone),
// checks the page shows `reconnecting`, prints `START`, waits for a line (the server is back)
// and checks the page becomes ready again. Its last stdout line is one JSON report:
// {"ok", "steps": [...], "failed_step", "error", "console_errors", "page_errors", ...}.
// Chromium runs with a fresh --user-data-dir, removed at the end.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const args = { url: undefined, shots: undefined, restart: false, timeout: 120, scenario: 'demo' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--shots') args.shots = argv[++i];
    else if (a === '--restart') args.restart = true;
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (a === '--scenario') args.scenario = argv[++i];
    else if (args.url === undefined) args.url = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!args.url || !args.shots) throw new Error('usage: inspector.mjs PAGE_URL --shots DIR [--restart]');
  return args;
}

const args = parseArgs(process.argv.slice(2));
rmSync(args.shots, { recursive: true, force: true });
mkdirSync(args.shots, { recursive: true });
const report = { ok: false, steps: [], console_errors: [], expected_console_errors: [], page_errors: [] };
let context;
let userDataDir;
let restarting = false;

const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on('line', (line) => { const w = waiting.shift(); if (w) w(line); });
const nextLine = () => new Promise((resolve) => waiting.push(resolve));

async function finish(code) {
  if (context) await context.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  console.log(JSON.stringify(report));
  process.exit(code);
}

const timer = setTimeout(() => {
  report.error = `timeout after ${args.timeout} s`;
  setTimeout(() => process.exit(1), 3000).unref();
  finish(1);
}, args.timeout * 1000);

let page;
async function step(name, body) {
  report.failed_step = name;
  await body();
  report.steps.push(name);
  report.failed_step = undefined;
}

const shot = (name) => page.screenshot({ path: path.join(args.shots, `${name}.png`), fullPage: false });
const state = () => page.locator('#state').getAttribute('data-state');
const waitState = (want, timeout = 20000) =>
  page.waitForFunction((w) => document.getElementById('state').dataset.state === w, want, { timeout });

async function selectTab(name) {
  await page.click(`#tab-${name}`);
}

async function callTool(name, fields) {
  await selectTab('tools');
  await page.click(`#tool-list button[data-name="${name}"]`);
  for (const [field, value] of Object.entries(fields)) {
    await page.fill(`#tool-form [name="${field}"]`, String(value));
  }
  const before = await page.locator(`.call-card[data-tool="${name}"]`).count();
  await page.click('#call-btn');
  await page.waitForFunction(([n, c]) => document.querySelectorAll(`.call-card[data-tool="${n}"]`).length > c, [name, before]);
  return page.locator(`.call-card[data-tool="${name}"]`).first();
}

async function outcomeOf(card, timeout = 15000) {
  const handle = await card.elementHandle();
  await page.waitForFunction((c) => c.dataset.outcome !== undefined, handle, { timeout });
  return card.getAttribute('data-outcome');
}

/** The input-request card of `method` not yet answered (the Input requests tab). */
async function inputCard(method, extra = '') {
  const card = page.locator(`.server-request[data-method="${method}"]${extra}`).first();
  await card.waitFor();
  return card;
}

/** Follows `uri` from the Resources tab; waits until the server acknowledged it. */
async function subscribe(uri) {
  await selectTab('resources');
  await page.click(`#resource-list button[data-name="${uri}"]`);
  const button = page.locator('#subscribe-btn');
  if ((await button.count()) === 0) return false;
  if ((await button.textContent()) === 'Subscribe') await button.click();
  await page.waitForSelector(`#subscription-list li[data-uri="${uri}"][data-acknowledged="true"]`);
  return true;
}

/** Calls `touch` on `uri` and returns the Notifications tab's row of the update. */
async function touchAndSeeUpdate(uri) {
  const before = await page.locator('#notification-list li[data-method="notifications/resources/updated"]').count();
  const card = await callTool('touch', { uri });
  await outcomeOf(card);
  await selectTab('notifications');
  await page.waitForFunction((n) => document.querySelectorAll('#notification-list li[data-method="notifications/resources/updated"]').length > n, before);
  const row = page.locator('#notification-list li[data-method="notifications/resources/updated"]').first();
  return { summary: (await row.locator('.note-sum').textContent())?.trim(), head: (await row.locator('.note-head').textContent())?.trim() };
}

async function extrasSteps() {
  await step('suggests completions for a prompt argument', async () => {
    await selectTab('prompts');
    await page.click('#prompt-list button[data-name="pick_fruit"]');
    const input = page.locator('#pa-fruit');
    const suggestions = () => page.$$eval('#pa-fruit-options li.suggestion', (lis) => lis.map((li) => li.textContent));
    await input.fill('b');
    await page.waitForFunction(() => document.querySelectorAll('#pa-fruit-options li.suggestion').length === 3 && !document.getElementById('pa-fruit-options').hidden);
    report.suggestions_b = await suggestions();
    await input.press('l');
    await page.waitForFunction(() => document.querySelectorAll('#pa-fruit-options li.suggestion').length === 2);
    report.suggestions_bl = await suggestions();
    await shot('10-completion');
    await page.click('#pa-fruit-options li.suggestion:has-text("blueberry")');
    report.picked = await input.inputValue();
    await page.click('#prompt-get-btn');
    const card = page.locator('.prompt-card[data-prompt="pick_fruit"]').first();
    await page.waitForFunction(() => document.querySelector('.prompt-card')?.dataset.outcome !== undefined);
    report.prompt_text = (await card.locator('.result-text').first().textContent())?.trim();
  });

  await step('answers roots, sampling and elicitation asked in one round', async () => {
    const card = await callTool('ask_all', {});
    await page.waitForFunction(() => document.querySelectorAll('.server-request[data-era="modern"]').length === 3);
    report.ask_all_cards = (await page.$$eval('.server-request[data-era="modern"]', (cs) => cs.map((c) => c.dataset.method))).sort();
    const sampling = await inputCard('sampling/createMessage');
    report.ask_all_sampling_prompt = (await sampling.locator('.result-text').first().textContent())?.trim();
    await sampling.locator('input[type="text"]').fill('model-at-the-page');
    await sampling.locator('textarea.sampling-reply').fill('4');
    await shot('11-one-round-three-inputs');
    await sampling.locator('.reply-btn').click();
    const roots = await inputCard('roots/list');
    await roots.locator('textarea').fill('file:///one\nfile:///two');
    await roots.locator('.reply-btn').click();
    const elicit = await inputCard('elicitation/create');
    await elicit.locator('textarea[aria-label="arguments as JSON"]').fill('{"name": "Ada"}');
    await elicit.locator('.reply-btn').click();
    report.ask_all_outcome = await outcomeOf(card);
    report.ask_all = (await card.locator('.result-text').first().textContent())?.trim();
    report.ask_all_rounds = Number(await card.getAttribute('data-rounds'));
  });

  await step('answers two rounds in a row', async () => {
    const card = await callTool('ask_twice', {});
    const first = await inputCard('elicitation/create', '[data-round="1"]');
    await first.locator('textarea[aria-label="arguments as JSON"]').fill('{"name": "Ada"}');
    await first.locator('.reply-btn').click();
    const second = await inputCard('elicitation/create', '[data-round="2"]');
    report.ask_twice_second_message = (await second.locator('.elicit-message').textContent())?.trim();
    await second.locator('.reply-btn').click();
    report.ask_twice_outcome = await outcomeOf(card);
    report.ask_twice = (await card.locator('.result-text').first().textContent())?.trim();
    report.ask_twice_rounds = Number(await card.getAttribute('data-rounds'));
    await selectTab('tools');
    await shot('12-two-rounds');
  });

  await step('abandoning a round ends the call without a retry', async () => {
    const card = await callTool('confirm', { question: 'Really?' });
    const id = await card.getAttribute('data-id');
    const ask = await inputCard('elicitation/create');
    await ask.locator('.refuse-btn').click();
    report.abandoned_outcome = await outcomeOf(card);
    report.abandoned_retries = await page.evaluate((first) => window.inspector.log.filter((e) => e.dir === 'out'
      && /^tools\/call #/.test(e.summary) && e.summary !== `tools/call #${first}` && e.text.includes('Really?')).length, id);
  });
}

userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mcp-ws-inspector-'));
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=LocalNetworkAccessChecks',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // While the server is down, Chromium reports each refused reconnection attempt itself.
    const refused = /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(text);
    if (restarting && refused) report.expected_console_errors.push(text);
    else report.console_errors.push(text);
  });
  page.on('pageerror', (e) => report.page_errors.push(String(e?.message ?? e)));

  await step('connects by itself and lists the tools', async () => {
    await page.goto(args.url);
    await waitState('ready');
    await page.waitForSelector('#tool-list button[data-name="add"]');
    report.tools = await page.$$eval('#tool-list button[data-name]', (bs) => bs.map((b) => b.dataset.name).sort());
    report.first_era = await page.evaluate(() => window.inspector.era);
    report.first_version = await page.evaluate(() => window.inspector.version);
    report.subprotocol = await page.textContent('#ci-subprotocol');
    report.server = await page.textContent('#ci-server');
    await shot('01-ready');
  });

  if (args.scenario === 'extras') {
    await extrasSteps();
  } else {
    await step('calls add through its generated form', async () => {
      const card = await callTool('add', { a: 2, b: 3 });
      report.add_outcome = await outcomeOf(card);
      report.add = (await card.locator('.result-text').first().textContent())?.trim();
    });

    await step('a tool error is shown as isError', async () => {
      const card = await callTool('divide', { a: 1, b: 0 });
      report.divide_outcome = await outcomeOf(card);
      report.divide_error_shown = (await card.locator('.is-error').count()) > 0;
    });

    await step('runs slow_count with a moving progress bar and cancels it', async () => {
      const card = await callTool('slow_count', { steps: 20, interval_ms: 250 });
      const handle = await card.elementHandle();
      await page.waitForFunction((c) => Number(c.dataset.progress) >= 1, handle);
      const first = Number(await card.getAttribute('data-progress'));
      await page.waitForFunction(([c, f]) => Number(c.dataset.progress) > f, [handle, first]);
      const second = Number(await card.getAttribute('data-progress'));
      report.progress_seen = [first, second];
      report.progress_bar = await card.locator('progress').evaluate((p) => ({ value: p.value, max: p.max, hidden: p.hidden }));
      await shot('02-progress');
      await card.locator('.cancel-btn').click();
      report.slow_count_outcome = await outcomeOf(card);
      const atCancel = Number(await card.getAttribute('data-progress'));
      await page.waitForTimeout(800);
      report.progress_after_cancel = [atCancel, Number(await card.getAttribute('data-progress'))];
      report.cancel_sent = await page.evaluate(() => window.inspector.log.some((e) => e.dir === 'out' && e.summary === 'notifications/cancelled'));
    });

    await step('reads demo://readme', async () => {
      await selectTab('resources');
      await page.click('#resource-list button[data-name="demo://readme"]');
      await page.click('#read-btn');
      const card = page.locator('.resource-card[data-uri="demo://readme"]').first();
      await card.locator('.resource-text').waitFor();
      report.readme = await card.locator('.resource-text').textContent();
      await shot('03-resource');
    });

    if ((await page.evaluate(() => window.inspector.era)) === 'modern') {
      await step('answers the input_required rounds of confirm and list_roots in 2026-07-28', async () => {
        const confirm = await callTool('confirm', { question: 'Proceed?' });
        const ask = page.locator('.server-request[data-method="elicitation/create"]').first();
        await ask.waitFor();
        report.modern_round_tab_selected = await page.getAttribute('#tab-requests', 'aria-selected');
        report.modern_elicit_message = (await ask.locator('.elicit-message').textContent())?.trim();
        await ask.locator('select[name="confirm"]').selectOption('true');
        await shot('04-modern-elicitation');
        await ask.locator('.reply-btn').click();
        await selectTab('tools');
        report.modern_confirm_outcome = await outcomeOf(confirm);
        report.modern_confirm = (await confirm.locator('.result-text').first().textContent())?.trim();
        report.modern_confirm_rounds = Number(await confirm.getAttribute('data-rounds'));
        report.modern_confirm_round_shown = (await confirm.locator('.round').first().textContent())?.trim();

        const roots = await callTool('list_roots', {});
        const request = page.locator('.server-request[data-method="roots/list"]').first();
        await request.waitFor();
        await request.locator('textarea').fill('file:///modern-root\nfile:///other-root');
        await request.locator('.reply-btn').click();
        await selectTab('tools');
        report.modern_list_roots_outcome = await outcomeOf(roots);
        report.modern_list_roots = (await roots.locator('.result-text').first().textContent())?.trim();
        report.modern_retry_sent = await page.evaluate(() => window.inspector.log.some((e) => e.dir === 'out'
          && /^tools\/call #/.test(e.summary) && e.text.includes('"inputResponses"') && e.text.includes('"requestState"')));
        await shot('05-modern-roots-done');
      });

      await step('follows a resource through subscriptions/listen; its update shows in Notifications', async () => {
        report.modern_subscribed = await subscribe('demo://readme');
        report.modern_listen_sent = await page.evaluate(() => window.inspector.log.some((e) => e.dir === 'out'
          && /^subscriptions\/listen #/.test(e.summary) && e.text.includes('demo://readme')));
        report.modern_update = await touchAndSeeUpdate('demo://readme');
        await shot('06-notifications');
      });
    }

    await step('answers roots/list in the legacy era', async () => {
      await selectTab('tools');
      if ((await page.evaluate(() => window.inspector.era)) !== 'legacy') {
        await page.selectOption('#version', '2025-11-25');
        await page.waitForFunction(() => window.inspector.era === 'legacy' && document.getElementById('state').dataset.state === 'ready');
        await page.waitForSelector('#tool-list button[data-name="list_roots"]');
      }
      report.legacy_version = await page.evaluate(() => window.inspector.version);
      const card = await callTool('list_roots', {});
      const request = page.locator('.server-request[data-method="roots/list"]').first();
      await request.waitFor();
      report.requests_tab_selected = await page.getAttribute('#tab-requests', 'aria-selected');
      await request.locator('textarea').fill('file:///inspector-root\nfile:///second-root');
      await shot('04-roots-request');
      await request.locator('.reply-btn').click();
      await selectTab('tools');
      report.list_roots_outcome = await outcomeOf(card);
      report.list_roots = (await card.locator('.result-text').first().textContent())?.trim();
    });

    await step('legacy: subscribes (or finds the subscription restored) and shows the update', async () => {
      report.legacy_subscription_restored = (await page.locator('#subscription-list li[data-uri="demo://readme"]').count()) > 0;
      report.legacy_subscribed = await subscribe('demo://readme');
      report.legacy_subscribe_sent = await page.evaluate(() => window.inspector.log.some((e) => e.dir === 'out'
        && /^resources\/subscribe #/.test(e.summary) && e.text.includes('demo://readme')));
      report.legacy_update = await touchAndSeeUpdate('demo://readme');
    });

    await step('re-runs and edits a call from the History tab', async () => {
      await selectTab('history');
      const entry = page.locator('#history-list li.history-entry[data-method="tools/call"]', { hasText: '"b": 3' }).last();
      await entry.waitFor({ state: 'attached' });
      report.history_entries = await page.locator('#history-list li.history-entry').count();
      await shot('07-history');
      const before = await page.locator('.call-card[data-tool="add"]').count();
      await entry.locator('.rerun-btn').click();
      await page.waitForFunction((c) => document.querySelectorAll('.call-card[data-tool="add"]').length > c, before);
      const card = page.locator('.call-card[data-tool="add"]').first();
      report.history_rerun_outcome = await outcomeOf(card);
      report.history_rerun = (await card.locator('.result-text').first().textContent())?.trim();
      report.history_grew = (await page.locator('#history-list li.history-entry').count()) > report.history_entries;
      await selectTab('history');
      await entry.locator('.edit-btn').click();
      report.history_edit = JSON.parse(await page.locator('#tool-form textarea[aria-label="arguments as JSON"]').inputValue());
    });

    await step('shows every frame in the log, with latency, filter and search', async () => {
      const log = await page.evaluate(() => window.inspector.log.map((e) => ({ dir: e.dir, kind: e.kind, summary: e.summary, latency: e.latency, size: e.size })));
      report.log_entries = log.length;
      report.log_has = {
        sent_call: log.some((e) => e.dir === 'out' && /^tools\/call #/.test(e.summary)),
        received_result_with_latency: log.some((e) => e.dir === 'in' && e.kind === 'response' && typeof e.latency === 'number'),
        progress: log.some((e) => e.dir === 'in' && e.summary === 'notifications/progress'),
        server_request: log.some((e) => e.dir === 'in' && /^roots\/list #/.test(e.summary)),
        our_reply: log.some((e) => e.dir === 'out' && e.kind === 'response'),
      };
      await page.selectOption('#log-filter', 'notification');
      report.filtered_kinds = [...new Set(await page.$$eval('#log-list li', (lis) => lis.map((li) => li.dataset.kind)))];
      await page.selectOption('#log-filter', 'all');
      await page.fill('#log-search', 'list_roots');
      report.search_rows = await page.locator('#log-list li').count();
      await page.fill('#log-search', '');
      await page.locator('#log-list li.request .log-row').last().click();
      report.expanded_json = (await page.locator('#log-list li pre').last().textContent())?.includes('"jsonrpc"');
      await shot('05-log');
    });

    if (args.restart) {
      await step('shows reconnecting while the server is down, then ready again', async () => {
        restarting = true;
        console.log('KILL');
        await nextLine();
        await waitState('reconnecting');
        report.reconnecting_text = await page.textContent('#ci-state');
        report.close_shown = await page.textContent('#ci-close');
        report.close_logged = await page.evaluate(() => window.inspector.log.some((e) => e.dir === 'in' && e.summary.startsWith('close ')));
        await shot('06-reconnecting');
        console.log('START');
        await nextLine();
        await waitState('ready', 30000);
        await page.waitForSelector('#tool-list button[data-name="add"]');
        restarting = false;
        const card = await callTool('add', { a: 40, b: 2 });
        await outcomeOf(card);
        report.add_after_restart = (await card.locator('.result-text').first().textContent())?.trim();
      });
    }

    await step('fits a narrow window', async () => {
      await page.setViewportSize({ width: 420, height: 800 });
      await page.waitForTimeout(200);
      report.narrow_overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
      await page.screenshot({ path: path.join(args.shots, '07-narrow.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
    });
  }

  report.ok = report.console_errors.length === 0 && report.page_errors.length === 0;
  if (!report.ok) report.error = 'console or page errors';
} catch (err) {
  report.ok = false;
  report.error = String(err?.message ?? err);
  try { await shot('99-failure'); } catch { /* no page */ }
}
clearTimeout(timer);
await finish(report.ok ? 0 : 1);
