// Browser interop client: the official TypeScript SDK client inside Debian's Chromium
// (/usr/bin/chromium, driven by playwright-core, which never downloads a browser), loaded from
// a page on ORIGIN (served by request interception, so any origin works without DNS).
//
// Usage: node tests/interop/browser_client.mjs URL --origin ORIGIN [--token TOKEN] [--timeout S]
//
// Prints one JSON line: {"ok", "server_name", "tools", "add", "error", "origin",
// "socket_errors": [what Chromium reported about the WebSocket, e.g. the refusal's status]}.
// Exit status 0 when ok. Chromium runs with a fresh --user-data-dir, removed at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const args = { url: undefined, origin: undefined, token: undefined, timeout: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--origin') args.origin = argv[++i];
    else if (a === '--token') args.token = argv[++i];
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (args.url === undefined) args.url = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!args.url || !args.origin) throw new Error('usage: browser_client.mjs URL --origin ORIGIN [--token T]');
  return args;
}

const args = parseArgs(process.argv.slice(2));
let report = { ok: false, error: 'not run' };
let context;
let userDataDir;
const timer = setTimeout(async () => {
  console.log(JSON.stringify({ ok: false, error: `timeout after ${args.timeout} s` }));
  // Stop Chromium before leaving (bounded: the exit below runs after 2 s regardless).
  setTimeout(() => process.exit(1), 2000).unref();
  if (context) await context.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}, args.timeout * 1000);

const bundle = await build({
  entryPoints: [path.join(here, 'browser_page.mjs')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  write: false,
  logLevel: 'silent',
});
const script = bundle.outputFiles[0].text;

userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mcp-ws-chromium-'));
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A page served by interception has no address, so Chromium's Local Network Access
      // checks would treat it as public and block every loopback socket before the handshake.
      // The server's own Origin check is what is under test; it must hold without them.
      '--disable-features=LocalNetworkAccessChecks',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const socketErrors = [];
  page.on('websocket', (ws) => ws.on('socketerror', (e) => socketErrors.push(String(e))));
  page.on('console', (m) => console.error(`page: ${m.text()}`));
  await page.route(`${args.origin}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/page.js') {
      return route.fulfill({ status: 200, contentType: 'text/javascript', body: script });
    }
    return route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>mcp-ws</title><script src="/page.js"></script>',
    });
  });
  await page.goto(`${args.origin}/`);
  const result = await page.evaluate(([url, token]) => window.runMcp(url, token), [args.url, args.token ?? null]);
  const origin = await page.evaluate(() => location.origin);
  report = { ...result, origin, socket_errors: socketErrors };
} catch (err) {
  report = { ok: false, error: String(err?.message ?? err) };
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
clearTimeout(timer);
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
