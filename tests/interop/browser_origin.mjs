// POSTs a JSON-RPC request from pages of two origins in Debian's Chromium (through
// playwright-core) to an mcp-ws server, and reports what the browser and the server did.
//
// Usage: node tests/interop/browser_origin.mjs SERVER_PORT FOREIGN_PORT
//
// The foreign page, http://127.0.0.1:FOREIGN_PORT/, is served by another loopback server:
// another origin than the server's. From it the page sends the POST
// twice: as an ordinary `fetch` with `Content-Type: application/json` (the browser asks the
// server first with a CORS preflight), and with `mode: 'no-cors'` (no preflight: the browser
// sends it as text/plain and hides the answer from the page; playwright still sees its
// status). Then the server's own page, http://127.0.0.1:SERVER_PORT/ (an allowed origin), sends
// the same `fetch`. Prints one JSON line: {"foreignCors", "foreignNoCors", "allowed": {"ok",
// "status", "text" or "error"}, "statuses": [{"method", "url", "status"} seen by playwright]}.
// Exits within 30 s.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const [serverPort, foreignPort] = process.argv.slice(2);
const endpoint = `http://127.0.0.1:${serverPort}/mcp`;
const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mcp-ws-chromium-'));
let context;
const timer = setTimeout(async () => {
  console.log(JSON.stringify({ error: 'timeout after 30 s' }));
  setTimeout(() => process.exit(1), 2000).unref();
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}, 30000);

// One 2026-07-28 tools/call of `tick`, sent by the page with `mode`.
function post({ endpoint, mode }) {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: 'tick',
      arguments: {},
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
    },
  });
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': 'tools/call',
    'Mcp-Name': 'tick',
  };
  // Without a preflight only CORS-safelisted headers may be sent: the body goes as text/plain.
  const sent = mode === 'no-cors' ? { 'Content-Type': 'text/plain' } : headers;
  return fetch(endpoint, { method: 'POST', mode, headers: sent, body })
    .then(async (response) => ({
      ok: response.ok,
      status: response.status,
      type: response.type,
      text: await response.text(),
    }))
    .catch((error) => ({ ok: false, error: String(error) }));
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const statuses = [];
  page.on('response', (response) => {
    if (response.url() === endpoint) {
      statuses.push({
        method: response.request().method(),
        origin: new URL(page.url()).origin,
        status: response.status(),
      });
    }
  });
  const failures = [];
  page.on('requestfailed', (request) => {
    if (request.url() === endpoint) {
      failures.push({ method: request.method(), failure: request.failure()?.errorText });
    }
  });
  await page.goto(`http://127.0.0.1:${foreignPort}/`);
  const foreignCors = await page.evaluate(post, { endpoint, mode: 'cors' });
  const foreignNoCors = await page.evaluate(post, { endpoint, mode: 'no-cors' });
  await page.goto(`http://127.0.0.1:${serverPort}/`);
  const allowed = await page.evaluate(post, { endpoint, mode: 'cors' });
  console.log(JSON.stringify({ foreignCors, foreignNoCors, allowed, statuses, failures }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
} finally {
  clearTimeout(timer);
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
