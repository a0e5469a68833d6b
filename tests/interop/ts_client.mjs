// Interop client: drives a demo MCP server over WebSocket with the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.x, WebSocketClientTransport, which offers subprotocol `mcp`).
//
// Usage: node tests/interop/ts_client.mjs URL [--skip-roots] [--timeout SECONDS] [--token TOKEN]
//
// With --token, the WebSocket also offers the subprotocol `mcp.auth.TOKEN` (SEP-1288), the way
// a browser presents a token (the SDK transport cannot set headers). For wss:// URLs Node trusts
// the CA file named by NODE_EXTRA_CA_CERTS.
//
// Same sequence and same one-line JSON report on stdout as py_client.py (logs go to stderr):
// {"ok": true, "server_name", "protocol_version", "tools", "results": {add, subtract, multiply,
//  divide}, "divide_by_zero": {"is_error", "text"}, "echo", "progress", "progress_totals",
//  "progress_messages", "slow_count", "list_roots", "ping_client", "resources", "readme",
//  "readme_mime_type", "prompts", "greet", "greet_role", "ping": true}
// On any error or on the overall timeout (default 30 s):
// {"ok": false, "error": "...", "partial": {...}} and exit status 1.

// Node 20 has no global WebSocket; the SDK transport uses the global one.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = (await import('ws')).WebSocket;
}

const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { WebSocketClientTransport } = await import('@modelcontextprotocol/sdk/client/websocket.js');
const { ListRootsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');

const ROOT_URI = 'file:///tmp/mcp-ws-interop';
const ROOT_NAME = 'interop';

function parseArgs(argv) {
  const args = { url: undefined, skipRoots: false, timeout: 30, token: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--skip-roots') args.skipRoots = true;
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (a === '--token') args.token = argv[++i];
    else if (a.startsWith('--timeout=')) args.timeout = Number(a.slice('--timeout='.length));
    else if (args.url === undefined) args.url = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!args.url) throw new Error('usage: ts_client.mjs URL [--skip-roots] [--timeout SECONDS]');
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
  if (args.token) {
    const Base = globalThis.WebSocket;
    globalThis.WebSocket = class extends Base {
      constructor(url, protocols, ...rest) {
        super(url, [...[].concat(protocols ?? []), `mcp.auth.${args.token}`], ...rest);
      }
    };
  }
  const client = new Client(
    { name: 'mcp-ws-interop-ts-client', version: '0.0.0' },
    { capabilities: { roots: { listChanged: false } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: ROOT_URI, name: ROOT_NAME }],
  }));

  const transport = new WebSocketClientTransport(new URL(args.url));
  // The Client hands the negotiated version to transports that want it (HTTP ones do);
  // WebSocketClientTransport does not, so hook it to report the version.
  transport.setProtocolVersion = (version) => {
    report.protocol_version = version;
  };

  await client.connect(transport);
  try {
    report.server_name = client.getServerVersion()?.name;
    report.server_version = client.getServerVersion()?.version;

    const tools = await client.listTools();
    report.tools = tools.tools.map((t) => t.name).sort();

    const results = {};
    report.results = results;
    for (const [name, a, b] of [
      ['add', 2, 3],
      ['subtract', 2, 3],
      ['multiply', 2.5, 4],
      ['divide', 1, 4],
    ]) {
      const r = await client.callTool({ name, arguments: { a, b } });
      results[name] = toolText(r);
      if (r.isError) results[`${name}_is_error`] = true;
    }

    let r = await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
    report.divide_by_zero = { is_error: Boolean(r.isError), text: toolText(r) };

    r = await client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } });
    report.echo = toolText(r);

    report.progress = [];
    report.progress_totals = [];
    report.progress_messages = [];
    r = await client.callTool(
      { name: 'slow_count', arguments: { steps: 3, interval_ms: 50 } },
      undefined,
      {
        onprogress: (p) => {
          report.progress.push(p.progress);
          report.progress_totals.push(p.total ?? null);
          report.progress_messages.push(p.message ?? null);
        },
      },
    );
    report.slow_count = toolText(r);

    if (!args.skipRoots) {
      r = await client.callTool({ name: 'list_roots', arguments: {} });
      report.list_roots = toolText(r);
    }

    r = await client.callTool({ name: 'ping_client', arguments: {} });
    report.ping_client = toolText(r);

    const resources = await client.listResources();
    report.resources = resources.resources.map((x) => x.uri);
    const read = await client.readResource({ uri: 'demo://readme' });
    report.readme = read.contents[0]?.text ?? null;
    report.readme_mime_type = read.contents[0]?.mimeType ?? null;

    const prompts = await client.listPrompts();
    report.prompts = prompts.prompts.map((p) => p.name);
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    report.greet = prompt.messages[0]?.content?.text ?? null;
    report.greet_role = prompt.messages[0]?.role ?? null;

    await client.ping();
    report.ping = true;
  } finally {
    await client.close().catch(() => {});
  }
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
    console.error(`ts_client: overall timeout of ${args.timeout} s reached`);
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
