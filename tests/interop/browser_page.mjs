// The page half of the browser test: the official TypeScript SDK client (bundled by
// browser_client.mjs with esbuild) running in Chromium. `window.runMcp(url, token)` connects
// with WebSocketClientTransport (which offers `mcp`), adding a `mcp.auth.<token>` offer when a
// token is given (browsers cannot set headers; SEP-1288), lists the tools, calls add(2, 3) and
// resolves to a small report; it never throws.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';

window.runMcp = async (url, token) => {
  if (token) {
    const Base = window.WebSocket;
    window.WebSocket = class extends Base {
      constructor(target, protocols) {
        super(target, [...[].concat(protocols ?? []), `mcp.auth.${token}`]);
      }
    };
  }
  const client = new Client({ name: 'mcp-ws-browser-client', version: '0.0.0' });
  try {
    await client.connect(new WebSocketClientTransport(new URL(url)));
    const tools = await client.listTools();
    const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    await client.close();
    return {
      ok: true,
      server_name: client.getServerVersion()?.name,
      tools: tools.tools.map((t) => t.name).sort(),
      add: add.content?.[0]?.text,
    };
  } catch (err) {
    return { ok: false, error: String(err?.message ?? err) };
  }
};
