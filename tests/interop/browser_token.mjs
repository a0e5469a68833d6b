// Opens WebSockets from a page in Debian's Chromium (through playwright-core) with the
// subprotocol offers a browser uses to present a bearer token, and reports what happened.
//
// Usage: node tests/interop/browser_token.mjs PORT TOKEN
//
// Loads http://127.0.0.1:PORT/ (the server's own page: a loopback origin), then opens
// ws://127.0.0.1:PORT/mcp offering, in turn, ['mcp', 'mcp.auth.TOKEN'], ['mcp.auth.TOKEN'] and
// ['mcp', 'mcp.auth.wrong']. Prints one JSON line: {"results": [{"offer", "open", "protocol",
// "code"}], "console": [Chromium's console messages]}. Exits within 30 s.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const [port, token] = process.argv.slice(2);
const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mcp-ws-chromium-'));
let context;
const timer = setTimeout(async () => {
  console.log(JSON.stringify({ error: 'timeout after 30 s' }));
  setTimeout(() => process.exit(1), 2000).unref();
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}, 30000);
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleMessages = [];
  page.on('console', (message) => consoleMessages.push(message.text()));
  await page.goto(`http://127.0.0.1:${port}/`);
  const offers = [['mcp', `mcp.auth.${token}`], [`mcp.auth.${token}`], ['mcp', 'mcp.auth.wrong']];
  const results = [];
  for (const offer of offers) {
    const result = await page.evaluate(
      ({ port, offer }) =>
        new Promise((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/mcp`, offer);
          ws.onopen = () => {
            const protocol = ws.protocol;
            ws.close(1000);
            resolve({ open: true, protocol });
          };
          ws.onclose = (event) => resolve({ open: false, code: event.code });
        }),
      { port, offer },
    );
    results.push({ offer: offer.map((o) => o.replace(token, '<token>')), ...result });
  }
  console.log(JSON.stringify({ results, console: consoleMessages }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
} finally {
  clearTimeout(timer);
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
