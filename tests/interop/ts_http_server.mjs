// A small MCP server on the official TypeScript SDK's StreamableHTTPServerTransport, for the
// Streamable HTTP client tests.
//
// Usage: node ts_http_server.mjs [--stateless] [--timeout SECONDS]
//
// Listens on 127.0.0.1 (a free port) at /mcp and prints exactly one line
// `LISTENING http://127.0.0.1:PORT/mcp`. Stateful by default (session ids, one transport per
// session); --stateless makes a fresh server and transport per request (no session ids).
// Exits with status 3 after --timeout seconds (default 30) so a forgotten process cannot linger.
//
// Tools: add(a, b) -> the sum as text; slow_count(steps) -> progress 1..steps, then
// "counted to {steps}"; list_roots() -> the client's root URIs joined by "\n" (a roots/list
// request to the client).

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = await import(
  '@modelcontextprotocol/sdk/server/streamableHttp.js'
);
const { isInitializeRequest } = await import('@modelcontextprotocol/sdk/types.js');
const { z } = await import('zod');

const args = process.argv.slice(2);
const stateless = args.includes('--stateless');
const timeoutAt = args.indexOf('--timeout');
const timeout = timeoutAt >= 0 ? Number(args[timeoutAt + 1]) : 30;
if (timeout > 0) setTimeout(() => process.exit(3), timeout * 1000).unref();

function makeServer() {
  const server = new McpServer({ name: 'ts-demo', version: '0' });
  server.tool('add', { a: z.number(), b: z.number() }, async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
  }));
  server.tool('slow_count', { steps: z.number().int() }, async ({ steps }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps },
        });
      }
    }
    return { content: [{ type: 'text', text: `counted to ${steps}` }] };
  });
  server.tool('list_roots', {}, async () => {
    const { roots } = await server.server.listRoots();
    return { content: [{ type: 'text', text: roots.map((r) => r.uri).join('\n') }] };
  });
  return server;
}

const transports = new Map();

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const http = createServer(async (req, res) => {
  try {
    if (!req.url.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (stateless) {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const server = makeServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        transport.close();
        server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const id = req.headers['mcp-session-id'];
    let transport = id ? transports.get(id) : undefined;
    if (!transport) {
      if (req.method === 'POST' && !id && body && isInitializeRequest(body)) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => transports.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
        await makeServer().connect(transport);
      } else {
        res.writeHead(id ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'no valid session' } }));
        return;
      }
    }
    await transport.handleRequest(req, res, body);
  } catch (error) {
    process.stderr.write(`ts_http_server: ${error?.stack ?? error}\n`);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${http.address().port}/mcp\n`);
});
