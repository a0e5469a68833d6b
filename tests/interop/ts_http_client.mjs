// Interop client: drives the demo MCP server (`mcp-ws serve`) over Streamable HTTP with the
// official TypeScript SDK (@modelcontextprotocol/sdk 1.x, StreamableHTTPClientTransport, legacy
// era: initialize, Mcp-Session-Id, SSE answers, the GET stream for server requests).
//
// Usage: node tests/interop/ts_http_client.mjs URL [--timeout SECONDS]
//
// Initializes, lists the tools, calls `add`, calls `slow_count` with a progress callback, calls
// `list_roots` (the server asks this client for `roots/list`, answered from a fixed root) and
// `confirm` (the server asks `elicitation/create`, accepted with confirm: true), pings, then
// ends the session (DELETE) and prints one JSON line on stdout:
// {"ok": true, "server_name", "protocol_version", "session_id", "tools", "add", "progress",
//  "progress_totals", "slow_count", "list_roots", "roots_requests", "confirm",
//  "elicitation_message", "ping": true, "terminated": true}
// Values are reported as the server sent them; nothing is asserted here. On any error or on
// the overall timeout (default 30 s): {"ok": false, "error": "...", "partial": {...}}, exit 1.

const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = await import(
  '@modelcontextprotocol/sdk/client/streamableHttp.js'
);
const { ElicitRequestSchema, ListRootsRequestSchema } = await import(
  '@modelcontextprotocol/sdk/types.js'
);

const ROOT_URI = 'file:///tmp/mcp-ws-ts-http';
const ROOT_NAME = 'ts-http';

function parseArgs(argv) {
  const args = { url: undefined, timeout: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (args.url === undefined) args.url = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!args.url) throw new Error('usage: ts_http_client.mjs URL [--timeout SECONDS]');
  if (!Number.isFinite(args.timeout) || args.timeout <= 0) throw new Error('--timeout must be > 0');
  return args;
}

function toolText(result) {
  const content = result.content ?? [];
  if (content.length === 1 && content[0].type === 'text') return content[0].text;
  return content;
}

const report = {};
let finished = false;

function finish(ok, error) {
  if (finished) return;
  finished = true;
  const out = ok ? { ok: true, ...report } : { ok: false, error, partial: report };
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(ok ? 0 : 1));
}

function describe(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

async function run(args) {
  const client = new Client(
    { name: 'mcp-ws-interop-ts-http-client', version: '0.0.0' },
    { capabilities: { roots: { listChanged: false }, elicitation: {} } },
  );
  report.roots_requests = 0;
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    report.roots_requests += 1;
    return { roots: [{ uri: ROOT_URI, name: ROOT_NAME }] };
  });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    report.elicitation_message = request.params.message;
    return { action: 'accept', content: { confirm: true } };
  });

  const transport = new StreamableHTTPClientTransport(new URL(args.url));
  await client.connect(transport);
  report.server_name = client.getServerVersion()?.name;
  report.protocol_version = transport.protocolVersion ?? null;
  report.session_id = transport.sessionId ?? null;

  const tools = await client.listTools();
  report.tools = tools.tools.map((t) => t.name).sort();

  let r = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
  report.add = toolText(r);

  report.progress = [];
  report.progress_totals = [];
  r = await client.callTool(
    { name: 'slow_count', arguments: { steps: 3, interval_ms: 50 } },
    undefined,
    {
      onprogress: (p) => {
        report.progress.push(p.progress);
        report.progress_totals.push(p.total ?? null);
      },
    },
  );
  report.slow_count = toolText(r);

  r = await client.callTool({ name: 'list_roots', arguments: {} });
  report.list_roots = toolText(r);

  r = await client.callTool({ name: 'confirm', arguments: { question: 'Ship it?' } });
  report.confirm = toolText(r);

  await client.ping();
  report.ping = true;

  await transport.terminateSession();
  report.terminated = transport.sessionId === undefined;
  await client.close();
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(err);
  finish(false, describe(err));
}

if (args) {
  const timer = setTimeout(() => {
    console.error(`ts_http_client: overall timeout of ${args.timeout} s reached`);
    finish(false, `timeout after ${args.timeout} s`);
  }, args.timeout * 1000);
  process.on('unhandledRejection', (err) => {
    console.error('unhandled rejection:', err);
    finish(false, describe(err));
  });
  run(args).then(
    () => {
      clearTimeout(timer);
      finish(true);
    },
    (err) => {
      console.error(err);
      clearTimeout(timer);
      finish(false, describe(err));
    },
  );
}
