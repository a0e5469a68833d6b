// The mcp-ws inspector: a small hand-written MCP client (JSON-RPC over the page's WebSocket,
// subprotocol `mcp`, both eras) and the page around it. No dependencies, no build step.
//
// What the server asks of the person at the page is answered in one place (the "Input
// requests" tab) in both eras: legacy server requests (`roots/list`, sampling, elicitation)
// get a JSON-RPC response; the `input_required` rounds of 2026-07-28 get their answers sent
// back in a retry of the original request with `inputResponses` and the sealed
// `requestState`, round after round, until the final result.
'use strict';

(() => {
  const MODERN = '2026-07-28';
  const LATEST_LEGACY = '2025-11-25';
  const META = {
    version: 'io.modelcontextprotocol/protocolVersion',
    clientInfo: 'io.modelcontextprotocol/clientInfo',
    clientCaps: 'io.modelcontextprotocol/clientCapabilities',
    serverInfo: 'io.modelcontextprotocol/serverInfo',
    logLevel: 'io.modelcontextprotocol/logLevel',
    subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  };
  const CLIENT_INFO = { name: 'mcp-ws-inspector', version: '0.1.0' };
  const LEGACY_CAPS = { roots: { listChanged: true }, sampling: {}, elicitation: {} };
  /** What this page can answer in an `input_required` round (2026-07-28). */
  const MODERN_CAPS = { roots: {}, sampling: {}, elicitation: { form: {}, url: {} } };
  /** The most `input_required` rounds one request may take (the Rust client's default too). */
  const MAX_ROUNDS = 8;
  const HISTORY_MAX = 200;
  const NOTIFICATIONS_MAX = 500;
  const PROBE_MS = 3000;
  const LIST_MS = 15000;
  const BACKOFF_S = [1, 2, 4, 8, 10];
  const LOG_MAX = 3000;

  const $ = (id) => document.getElementById(id);

  /** Creates an element: el('div', {class: 'x', text: 'y'}, child, ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, '');
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** replaceChildren without the nulls (which it would show as the text "null"). */
  const fill = (node, ...children) => node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));

  const pretty = (value) => JSON.stringify(value, null, 2);
  const fmtTime = (ms) => {
    const d = new Date(ms);
    const p = (n, w = 2) => String(n).padStart(w, '0');
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  };
  const fmtSize = (n) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
  const utf8Len = (s) => new TextEncoder().encode(s).length;

  // ---------------------------------------------------------------- state

  const app = {
    config: { mode: 'direct', endpoint: '/mcp' },
    ws: null,
    state: 'idle',
    manualClose: false,
    attempt: 0,
    reconnectTimer: null,
    countdownTimer: null,
    nextId: 1,
    pending: new Map(), // id -> {method, sent, resolve, reject, timer, onProgress, token}
    progress: new Map(), // progress token -> id
    era: null,
    version: null,
    serverInfo: null,
    capabilities: null,
    instructions: null,
    subprotocol: null,
    tools: [],
    resources: [],
    templates: [],
    prompts: [],
    serverRequests: new Map(), // card key -> {node}: legacy server requests and modern input requests
    subscriptions: new Set(), // resource URIs followed (legacy resources/subscribe, or in the listen)
    updates: new Map(), // resource URI -> updates received
    runs: new Set(), // requests in progress that may take input rounds (see runRequest)
    listen: null, // the open subscriptions/listen: {id, cancel, acknowledged}
    logLevel: 'debug',
    history: [],
    historySeq: 0,
    notifications: [],
    notificationSeq: 0,
    log: [],
    logSeq: 0,
    generation: 0,
  };

  // ---------------------------------------------------------------- message log

  function classify(msg) {
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return { kind: 'other', summary: 'not a JSON-RPC object' };
    if (msg.method !== undefined && msg.id !== undefined) return { kind: 'request', summary: `${msg.method} #${msg.id}` };
    if (msg.method !== undefined) return { kind: 'notification', summary: msg.method };
    if (msg.error !== undefined) return { kind: 'error', summary: `error #${msg.id}: ${msg.error?.code} ${msg.error?.message ?? ''}` };
    if (msg.result !== undefined) return { kind: 'response', summary: `result #${msg.id}` };
    return { kind: 'other', summary: 'unknown message' };
  }

  function logFrame(dir, text, extra = {}) {
    let parsed;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    const { kind, summary } = parsed === undefined ? { kind: 'other', summary: 'not JSON' } : classify(parsed);
    const entry = { seq: ++app.logSeq, t: Date.now(), dir, kind, summary, size: utf8Len(text), text, ...extra };
    pushLog(entry);
  }

  function logEvent(summary, data) {
    pushLog({ seq: ++app.logSeq, t: Date.now(), dir: 'event', kind: 'event', summary, size: 0, text: data === undefined ? '' : pretty(data) });
  }

  function pushLog(entry) {
    app.log.push(entry);
    if (app.log.length > LOG_MAX) {
      const dropped = app.log.shift();
      const node = $('log-list').querySelector(`li[data-seq="${dropped.seq}"]`);
      if (node) node.remove();
    }
    if (matchesFilter(entry)) appendLogRow(entry);
    $('n-log').textContent = String(app.log.length);
  }

  function matchesFilter(entry) {
    const filter = $('log-filter').value;
    const search = $('log-search').value.trim().toLowerCase();
    if (filter === 'out' || filter === 'in') {
      if (entry.dir !== filter) return false;
    } else if (filter !== 'all' && entry.kind !== filter) {
      return false;
    }
    return !search || entry.summary.toLowerCase().includes(search) || entry.text.toLowerCase().includes(search);
  }

  function appendLogRow(entry) {
    const list = $('log-list');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 30;
    const arrow = entry.dir === 'out' ? '→' : entry.dir === 'in' ? '←' : '•';
    const meta = [entry.size ? fmtSize(entry.size) : '', entry.latency !== undefined ? `${entry.latency} ms` : ''].filter(Boolean).join(' · ');
    const row = el('div', { class: 'log-row', role: 'button', tabindex: '0', 'aria-expanded': 'false', title: 'Show the message' },
      el('span', { class: 't', text: fmtTime(entry.t) }),
      el('span', { class: `dir ${entry.dir}`, text: arrow, 'aria-label': entry.dir === 'out' ? 'sent' : entry.dir === 'in' ? 'received' : 'event' }),
      el('span', { class: 'sum', text: entry.summary }),
      el('span', { class: 'meta', text: meta }));
    const item = el('li', { class: `${entry.kind} ${entry.dir}`, 'data-seq': entry.seq, 'data-kind': entry.kind, 'data-dir': entry.dir }, row);
    const toggle = () => {
      const open = item.querySelector('pre');
      if (open) { open.remove(); row.setAttribute('aria-expanded', 'false'); return; }
      let body = entry.text;
      try { body = pretty(JSON.parse(entry.text)); } catch { /* shown as is */ }
      item.append(el('pre', { text: body || '(no payload)' }));
      row.setAttribute('aria-expanded', 'true');
    };
    row.addEventListener('click', toggle);
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
    list.append(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function rerenderLog() {
    fill($('log-list'));
    for (const entry of app.log) if (matchesFilter(entry)) appendLogRow(entry);
  }

  function exportLog() {
    const lines = app.log.map((e) => {
      let message;
      try { message = e.text ? JSON.parse(e.text) : undefined; } catch { message = e.text; }
      return JSON.stringify({ time: new Date(e.t).toISOString(), direction: e.dir, kind: e.kind, size: e.size, latency_ms: e.latency, summary: e.summary, message });
    });
    const blob = new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `mcp-log-${Date.now()}.jsonl` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // ---------------------------------------------------------------- connection state

  /** Shows the state: `short` in the badge, `detail` in the connection panel too. */
  function setState(state, detail, short) {
    app.state = state;
    const badge = $('state');
    badge.dataset.state = state;
    badge.textContent = short ? `${state} ${short}` : state;
    badge.title = detail || state;
    $('ci-state').textContent = detail ? `${state} (${detail})` : state;
    $('reconnect-now').hidden = state !== 'reconnecting';
    $('disconnect-btn').disabled = state === 'idle' || state === 'closed';
  }

  function wsUrl() {
    const endpoint = app.config.endpoint || '/mcp';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${endpoint}`;
  }

  /** The relay's per-run secret: from the `#relay=` fragment of the URL `mcp-ws inspect`
      printed (a fragment is never sent in a request), kept for this tab only so a reload
      still works, and taken off the address bar. */
  function relaySecret() {
    const fragment = new URLSearchParams(location.hash.slice(1)).get('relay');
    if (fragment) {
      try { sessionStorage.setItem('mcp-ws-relay', fragment); } catch { /* storage off */ }
      app.relaySecret = fragment;
      history.replaceState(null, '', location.pathname + location.search);
    }
    if (!app.relaySecret) {
      try { app.relaySecret = sessionStorage.getItem('mcp-ws-relay'); } catch { /* storage off */ }
    }
    return app.relaySecret || null;
  }

  function resetSession() {
    app.era = app.version = app.serverInfo = app.capabilities = app.instructions = app.subprotocol = null;
    for (const [, p] of app.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('the connection closed'));
    }
    app.pending.clear();
    app.progress.clear();
    // The followed URIs stay: ready() subscribes to them again on the next connection.
    app.listen = null;
    for (const run of [...app.runs]) run.abandon('the connection closed');
    for (const [, r] of app.serverRequests) r.node.remove();
    app.serverRequests.clear();
    updateRequestCount();
    renderConnInfo();
    renderSubscriptions();
  }

  function connect() {
    clearTimeout(app.reconnectTimer);
    clearInterval(app.countdownTimer);
    if (app.ws) {
      const old = app.ws;
      app.ws = null;
      old.onopen = old.onclose = old.onmessage = old.onerror = null;
      try {
        old.close(1000, 'reconnecting');
        pushLog({ seq: ++app.logSeq, t: Date.now(), dir: 'out', kind: 'event', summary: 'close 1000 reconnecting', size: 0, text: pretty({ code: 1000, reason: 'reconnecting' }) });
      } catch { /* already closed */ }
    }
    resetSession();
    app.manualClose = false;
    const generation = ++app.generation;
    const url = $('url').value.trim();
    $('ci-url').textContent = app.config.mode === 'relay' ? `${app.config.target} (through the inspect relay)` : url;
    const protocols = ['mcp'];
    const token = $('token').value;
    if (app.config.mode !== 'relay' && token) protocols.push(`mcp.auth.${token}`);
    // The relay takes only the page `mcp-ws inspect` printed: its secret rides as a token.
    if (app.config.mode === 'relay' && relaySecret()) protocols.push(`mcp.auth.${relaySecret()}`);
    setState('connecting', app.attempt ? `attempt ${app.attempt + 1}` : undefined);
    let ws;
    try {
      ws = new WebSocket(url, protocols);
    } catch (err) {
      logEvent(`cannot open: ${err.message}`);
      setState('closed', err.message);
      return;
    }
    app.ws = ws;
    logEvent(`connecting to ${url}`);
    ws.onopen = () => {
      if (generation !== app.generation) return;
      app.subprotocol = ws.protocol || '(none)';
      logEvent(`open, subprotocol ${app.subprotocol}`);
      renderConnInfo();
      negotiate(generation).catch((err) => {
        if (generation !== app.generation) return;
        logEvent(`negotiation failed: ${err.message}`);
        setState('negotiating', `failed: ${err.message}`);
      });
    };
    ws.onmessage = (event) => {
      if (generation !== app.generation) return;
      if (typeof event.data !== 'string') {
        logEvent(`binary frame of ${event.data.size ?? event.data.byteLength} bytes (MCP uses text frames)`);
        return;
      }
      onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (generation !== app.generation) return;
      // Whatever this connection still awaits is now moot (its failures must not touch the state).
      app.generation += 1;
      const reason = event.reason ? ` ${event.reason}` : '';
      const text = `${event.code}${reason}`;
      $('ci-close').textContent = text;
      pushLog({ seq: ++app.logSeq, t: Date.now(), dir: 'in', kind: 'event', summary: `close ${text}`, size: 0, text: pretty({ code: event.code, reason: event.reason, wasClean: event.wasClean }) });
      app.ws = null;
      resetSession();
      if (app.manualClose) {
        setState('closed', text);
      } else {
        scheduleReconnect(text);
      }
    };
  }

  function scheduleReconnect(why) {
    const delay = BACKOFF_S[Math.min(app.attempt, BACKOFF_S.length - 1)];
    app.attempt += 1;
    let left = delay;
    const show = () => setState('reconnecting', `next attempt in ${left} s (closed ${why})`, `in ${left} s`);
    show();
    clearInterval(app.countdownTimer);
    app.countdownTimer = setInterval(() => { left -= 1; if (left > 0) show(); }, 1000);
    app.reconnectTimer = setTimeout(() => { clearInterval(app.countdownTimer); connect(); }, delay * 1000);
  }

  function disconnect() {
    clearTimeout(app.reconnectTimer);
    clearInterval(app.countdownTimer);
    app.manualClose = true;
    if (app.ws) {
      app.ws.close(1000, 'closed by the inspector');
      setState('closing');
    } else {
      setState('closed');
    }
  }

  function send(message) {
    const text = JSON.stringify(message);
    if (!app.ws || app.ws.readyState !== WebSocket.OPEN) throw new Error('not connected');
    app.ws.send(text);
    logFrame('out', text);
  }

  /** Adds the 2026-07-28 `_meta` stamps to request params; the log level asks for every
   *  log message (a 2026-07-28 server sends none for a request that names no level). */
  function stamp(params) {
    if (app.era !== 'modern' && app.era !== 'probing') return params;
    const out = { ...(params || {}) };
    out._meta = { [META.logLevel]: app.logLevel, ...(out._meta || {}), [META.version]: MODERN, [META.clientInfo]: CLIENT_INFO, [META.clientCaps]: MODERN_CAPS };
    return out;
  }

  /**
   * Sends a request; returns {id, promise, cancel(reason)}. Options: timeoutMs, onProgress
   * (asks for progress), noStamp.
   */
  function request(method, params, options = {}) {
    const id = app.nextId++;
    let finalParams = options.noStamp ? params : stamp(params);
    let token;
    if (options.onProgress) {
      token = `progress-${id}`;
      finalParams = { ...(finalParams || {}) };
      finalParams._meta = { ...(finalParams._meta || {}), progressToken: token };
      app.progress.set(token, id);
    }
    const message = { jsonrpc: '2.0', id, method };
    if (finalParams !== undefined) message.params = finalParams;
    let entry;
    const promise = new Promise((resolve, reject) => {
      entry = { method, sent: performance.now(), resolve, reject, onProgress: options.onProgress, token };
      app.pending.set(id, entry);
      if (options.timeoutMs) {
        entry.timer = setTimeout(() => {
          if (!app.pending.has(id)) return;
          cancelRequest(id, `timed out after ${options.timeoutMs} ms`);
          reject(new Error(`timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      try { send(message); } catch (err) { app.pending.delete(id); clearTimeout(entry.timer); reject(err); }
    });
    return { id, promise, cancel: (reason) => { if (app.pending.has(id)) { const p = app.pending.get(id); cancelRequest(id, reason); p.reject(new Error(`cancelled: ${reason}`)); } } };
  }

  function cancelRequest(id, reason) {
    const p = app.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    app.pending.delete(id);
    if (p.token) app.progress.delete(p.token);
    try { notify('notifications/cancelled', { requestId: id, reason }); } catch { /* closed */ }
  }

  function notify(method, params) {
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    send(message);
  }

  function onFrame(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { msg = undefined; }
    const extra = {};
    if (msg && msg.id !== undefined && msg.method === undefined && app.pending.has(msg.id)) {
      extra.latency = Math.round(performance.now() - app.pending.get(msg.id).sent);
    }
    logFrame('in', text, extra);
    if (!msg || typeof msg !== 'object') return;
    if (msg.method !== undefined && msg.id !== undefined) return onServerRequest(msg);
    if (msg.method !== undefined) return onNotification(msg);
    const p = app.pending.get(msg.id);
    if (!p) return;
    app.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (p.token) app.progress.delete(p.token);
    if (msg.error) {
      const err = new Error(`${msg.error.code}: ${msg.error.message}`);
      err.rpc = msg.error;
      p.reject(err);
    } else {
      p.resolve(msg.result);
    }
  }

  function onNotification(msg) {
    const params = msg.params || {};
    recordNotification(msg);
    switch (msg.method) {
      case 'notifications/progress': {
        const id = app.progress.get(params.progressToken);
        const p = id !== undefined && app.pending.get(id);
        if (p && p.onProgress) p.onProgress(params);
        break;
      }
      case 'notifications/tools/list_changed': loadTools(); break;
      case 'notifications/resources/list_changed': loadResources(); break;
      case 'notifications/prompts/list_changed': loadPrompts(); break;
      case 'notifications/resources/updated': {
        const detail = $('resource-output');
        detail.prepend(el('div', { class: 'card update-card', 'data-uri': params.uri, text: `resource updated: ${params.uri}` }));
        const count = (app.updates.get(params.uri) || 0) + 1;
        app.updates.set(params.uri, count);
        renderSubscriptions();
        break;
      }
      case 'notifications/subscriptions/acknowledged': {
        const listen = app.listen;
        if (listen && String(params._meta?.[META.subscriptionId]) === String(listen.id)) {
          listen.acknowledged = params.notifications || {};
          renderSubscriptions();
        }
        break;
      }
      default: break;
    }
  }

  // ---------------------------------------------------------------- lifecycle

  async function negotiate(generation) {
    setState('negotiating');
    const choice = $('version').value;
    if (choice === 'auto' || choice === MODERN) {
      app.era = 'probing';
      let discovered;
      try {
        discovered = await request('server/discover', {}, { timeoutMs: PROBE_MS }).promise;
      } catch (err) {
        if (choice === MODERN) throw new Error(`server/discover failed: ${err.message}`);
        logEvent(`server/discover failed (${err.message}); falling back to initialize`);
      }
      if (generation !== app.generation) return;
      const modern = discovered && Array.isArray(discovered.supportedVersions) && discovered.supportedVersions.includes(MODERN);
      if (modern) {
        app.era = 'modern';
        app.version = MODERN;
        app.serverInfo = discovered._meta?.[META.serverInfo] ?? null;
        app.capabilities = discovered.capabilities || {};
        app.instructions = discovered.instructions ?? null;
        return ready(generation);
      }
      if (choice === MODERN) throw new Error('the server does not speak 2026-07-28');
    }
    app.era = 'legacy';
    const version = choice === 'auto' ? LATEST_LEGACY : choice;
    const result = await request('initialize', {
      protocolVersion: version,
      capabilities: LEGACY_CAPS,
      clientInfo: CLIENT_INFO,
    }, { timeoutMs: LIST_MS, noStamp: true }).promise;
    if (generation !== app.generation) return;
    app.version = result.protocolVersion;
    app.serverInfo = result.serverInfo ?? null;
    app.capabilities = result.capabilities || {};
    app.instructions = result.instructions ?? null;
    notify('notifications/initialized');
    return ready(generation);
  }

  function ready(generation) {
    app.attempt = 0;
    setState('ready');
    renderConnInfo();
    renderSubscriptions();
    const loads = [loadTools(), loadResources(), loadPrompts()];
    return Promise.allSettled(loads).then(() => {
      if (generation !== app.generation) return;
      logEvent('ready: lists loaded');
      restoreSubscriptions();
    });
  }

  function renderConnInfo() {
    $('ci-subprotocol').textContent = app.subprotocol ?? '–';
    $('ci-version').textContent = app.version ?? '–';
    $('ci-era').textContent = app.era === 'modern' ? '2026-07-28 (no handshake, _meta on every request)' : app.era === 'legacy' ? 'legacy (initialize)' : '–';
    const info = app.serverInfo;
    $('ci-server').textContent = info ? `${info.title || info.name} ${info.version ?? ''}`.trim() : '–';
    $('ci-caps').textContent = app.capabilities ? pretty(app.capabilities) : '–';
    $('ci-instructions').textContent = app.instructions || '–';
    $('ping-btn').hidden = !(app.era === 'legacy' && app.state === 'ready');
  }

  /** `ping` (legacy era only). */
  async function ping() {
    const entry = historyStart('ping', undefined, '', ping);
    const started = performance.now();
    try {
      await request('ping', undefined, { timeoutMs: LIST_MS, noStamp: true }).promise;
      $('ping-result').textContent = `pong in ${Math.round(performance.now() - started)} ms`;
      historyEnd(entry, 'ok', {});
    } catch (err) {
      $('ping-result').textContent = err.message;
      historyEnd(entry, 'failed', err.message);
    }
  }

  /** Fetches every page of a list method. */
  async function listAll(method, key) {
    const items = [];
    let cursor;
    for (let page = 0; page < 50; page++) {
      const result = await request(method, cursor ? { cursor } : {}, { timeoutMs: LIST_MS }).promise;
      items.push(...(result[key] || []));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return items;
  }

  // ---------------------------------------------------------------- tabs

  const TABS = ['tools', 'resources', 'prompts', 'requests', 'notifications', 'history'];
  function selectTab(name) {
    for (const tab of TABS) {
      const selected = tab === name;
      $(`tab-${tab}`).setAttribute('aria-selected', String(selected));
      $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
      $(`pane-${tab}`).hidden = !selected;
    }
  }

  // ---------------------------------------------------------------- schema forms

  /** The usable variant of a schema: `anyOf`/`type` lists with `null` reduced to the other. */
  function simplify(schema) {
    if (!schema || typeof schema !== 'object') return {};
    let s = schema;
    for (const key of ['anyOf', 'oneOf']) {
      if (Array.isArray(s[key])) {
        const nonNull = s[key].filter((v) => v && v.type !== 'null');
        if (nonNull.length === 1) s = { ...s, ...nonNull[0], [key]: undefined, nullable: true };
      }
    }
    if (Array.isArray(s.type)) {
      const types = s.type.filter((t) => t !== 'null');
      if (types.length === 1) s = { ...s, type: types[0] };
    }
    return s;
  }

  let fieldSeq = 0;

  /** The choices of an enum schema as [{value, label}]: `enum` (labelled by `enumNames` when
   *  given) or a `oneOf`/`anyOf` of `const`s with titles; null for anything else. */
  function choicesOf(schema) {
    if (!schema || typeof schema !== 'object') return null;
    if (Array.isArray(schema.enum)) {
      return schema.enum.map((value, i) => ({ value, label: schema.enumNames?.[i] ?? (typeof value === 'string' ? value : JSON.stringify(value)) }));
    }
    for (const key of ['oneOf', 'anyOf']) {
      const list = schema[key];
      if (Array.isArray(list) && list.length && list.every((v) => v && typeof v === 'object' && 'const' in v)) {
        return list.map((v) => ({ value: v.const, label: v.title ? `${v.title} (${v.const})` : String(v.const) }));
      }
    }
    return null;
  }

  /**
   * A form field for `schema`: {node, get()} where get() returns the value, `undefined` when
   * left empty, and throws on invalid input.
   */
  function schemaField(name, rawSchema, required, label = name) {
    const schema = simplify(rawSchema);
    const id = `f${++fieldSeq}`;
    const hintText = [schema.description, schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : '']
      .filter(Boolean).join(' · ');
    const shown = schema.title && schema.title !== label ? `${label} — ${schema.title}` : label;
    const labelNode = el('label', { for: id }, shown, required ? el('span', { class: 'req', text: ' *', title: 'required' }) : null,
      schema.type ? el('span', { class: 'hint', text: `  ${schema.type}` }) : null);
    const wrap = (input, extra) => el('div', { class: 'field' }, labelNode, input, extra, hintText ? el('span', { class: 'hint', text: hintText }) : null);
    const placeholder = schema.default !== undefined ? String(JSON.stringify(schema.default)) : '';

    const choices = choicesOf(schema);
    if (choices) {
      const select = el('select', { id, name, required },
        required && schema.default !== undefined ? null : el('option', { value: '', text: '(unset)' }),
        choices.map((c, i) => el('option', { value: String(i), text: c.label, selected: c.value === schema.default })));
      return { node: wrap(select), get: () => (select.value === '' ? undefined : choices[Number(select.value)].value) };
    }
    const itemChoices = schema.type === 'array' ? choicesOf(simplify(schema.items)) : null;
    if (itemChoices) {
      // A multi-select (elicitation's enum arrays): one checkbox per choice.
      const chosen = new Set(Array.isArray(schema.default) ? schema.default : []);
      const boxes = itemChoices.map((c, i) => el('input', { type: 'checkbox', id: `${id}-${i}`, name: `${name}[]`, value: String(i), checked: chosen.has(c.value) }));
      return {
        node: el('fieldset', { class: 'choices' }, el('legend', {}, label, required ? el('span', { class: 'req', text: ' *' }) : null, ' (choose any)'),
          itemChoices.map((c, i) => el('label', { for: `${id}-${i}` }, boxes[i], ` ${c.label}`)), hintText ? el('span', { class: 'hint', text: hintText }) : null),
        get: () => {
          const values = boxes.filter((b) => b.checked).map((b) => itemChoices[Number(b.value)].value);
          return values.length || required ? values : undefined;
        },
      };
    }
    switch (schema.type) {
      case 'boolean': {
        const select = el('select', { id, name },
          el('option', { value: '', text: '(unset)' }), el('option', { value: 'true', text: 'true' }), el('option', { value: 'false', text: 'false' }));
        return { node: wrap(select), get: () => (select.value === '' ? (required ? false : undefined) : select.value === 'true') };
      }
      case 'number':
      case 'integer': {
        const input = el('input', { id, name, type: 'number', step: schema.type === 'integer' ? '1' : 'any', required, placeholder, min: schema.minimum, max: schema.maximum });
        return {
          node: wrap(input),
          get: () => {
            if (input.value.trim() === '') return undefined;
            const n = Number(input.value);
            if (!Number.isFinite(n)) throw new Error(`${label}: not a number`);
            if (schema.type === 'integer' && !Number.isInteger(n)) throw new Error(`${label}: not an integer`);
            return n;
          },
        };
      }
      case 'string': {
        const long = (schema.maxLength ?? 0) > 200 || schema.format === 'textarea';
        const type = { date: 'date', email: 'email', uri: 'url' }[schema.format] || 'text';
        const input = long ? el('textarea', { id, name, required, placeholder }) : el('input', { id, name, type, required, placeholder, spellcheck: 'false', minlength: schema.minLength, maxlength: schema.maxLength });
        return { node: wrap(input), get: () => (input.value === '' ? undefined : input.value), input };
      }
      case 'array': {
        const list = el('div', { class: 'array' });
        const items = [];
        const add = () => {
          const child = schemaField(`${name}[${items.length}]`, schema.items || {}, true, `${label}[${items.length}]`);
          const entry = { child };
          const remove = el('button', { type: 'button', class: 'danger', 'aria-label': `remove ${label} item`, text: '×', onclick: () => { items.splice(items.indexOf(entry), 1); row.remove(); } });
          const row = el('div', { class: 'array-item' }, child.node, remove);
          items.push(entry);
          list.append(row);
        };
        const addButton = el('button', { type: 'button', text: `+ add ${label} item`, onclick: add });
        return {
          node: el('fieldset', {}, el('legend', {}, label, required ? el('span', { class: 'req', text: ' *' }) : null, ' (array)'), list, addButton),
          get: () => {
            if (!items.length) return required ? [] : undefined;
            return items.map((e) => e.child.get()).filter((v) => v !== undefined);
          },
        };
      }
      case 'object': {
        if (schema.properties && Object.keys(schema.properties).length) {
          const form = objectFields(schema);
          return {
            node: el('fieldset', {}, el('legend', {}, label, required ? el('span', { class: 'req', text: ' *' }) : null, ' (object)'), form.node),
            get: () => {
              const value = form.get();
              return Object.keys(value).length || required ? value : undefined;
            },
          };
        }
        break;
      }
      default:
        break;
    }
    // Anything else: raw JSON.
    const area = el('textarea', { id, name, placeholder: placeholder || 'JSON', spellcheck: 'false' });
    return {
      node: wrap(area),
      get: () => {
        if (area.value.trim() === '') return undefined;
        try { return JSON.parse(area.value); } catch (err) { throw new Error(`${label}: ${err.message}`); }
      },
    };
  }

  /** Fields for each property of an object schema. */
  function objectFields(schema) {
    const required = new Set(schema.required || []);
    const fields = Object.entries(schema.properties || {}).map(([key, sub]) => [key, schemaField(key, sub, required.has(key))]);
    return {
      node: el('div', {}, fields.map(([, f]) => f.node)),
      fields,
      get: () => {
        const out = {};
        for (const [key, field] of fields) {
          const value = field.get();
          if (value === undefined) {
            if (required.has(key)) throw new Error(`${key} is required`);
          } else {
            out[key] = value;
          }
        }
        return out;
      },
    };
  }

  /**
   * A form for an object schema with a raw-JSON toggle: {node, get()}. Schemas without
   * properties get the raw JSON editor only.
   */
  function argumentsForm(schema, idPrefix, initial) {
    const s = simplify(schema || {});
    const hasFields = s.properties && Object.keys(s.properties).length > 0;
    const fields = hasFields ? objectFields(s) : null;
    const raw = el('textarea', { id: `${idPrefix}-raw`, 'aria-label': 'arguments as JSON', spellcheck: 'false', text: initial ? pretty(initial) : '{}' });
    const rawToggle = el('input', { type: 'checkbox', id: `${idPrefix}-rawtoggle` });
    const rawMode = !hasFields || initial !== undefined;
    const rawWrap = el('div', { class: 'field' }, raw);
    rawWrap.hidden = !rawMode;
    const fieldWrap = el('div', {}, fields ? fields.node : el('p', { class: 'muted', text: 'No declared arguments.' }));
    fieldWrap.hidden = rawMode && hasFields;
    rawToggle.checked = rawMode;
    rawToggle.addEventListener('change', () => {
      if (rawToggle.checked) {
        try { raw.value = pretty(fields ? fields.get() : {}); } catch { /* keep the text */ }
      }
      rawWrap.hidden = !rawToggle.checked;
      fieldWrap.hidden = rawToggle.checked;
    });
    const node = el('div', {}, fieldWrap, rawWrap,
      el('div', { class: 'row' }, el('label', { for: `${idPrefix}-rawtoggle` }, rawToggle, 'raw JSON')));
    return {
      node,
      fields,
      get: () => {
        if (rawToggle.checked || !fields) {
          const text = raw.value.trim() || '{}';
          const value = JSON.parse(text);
          if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the arguments must be a JSON object');
          return value;
        }
        return fields.get();
      },
    };
  }

  // ---------------------------------------------------------------- content rendering

  function renderBlock(block) {
    const label = (text) => el('div', { class: 'block-label', text });
    if (!block || typeof block !== 'object') return el('div', { class: 'block' }, el('pre', { text: pretty(block) }));
    switch (block.type) {
      case 'text':
        return el('div', { class: 'block text' }, label('text'), el('pre', { class: 'result-text', text: block.text ?? '' }));
      case 'image':
        return el('div', { class: 'block image' }, label(`image ${block.mimeType ?? ''}`),
          el('img', { src: `data:${block.mimeType || 'image/png'};base64,${block.data}`, alt: 'image content' }));
      case 'audio':
        return el('div', { class: 'block audio' }, label(`audio ${block.mimeType ?? ''}`), el('pre', { text: `${(block.data || '').length} base64 characters` }));
      case 'resource': {
        const r = block.resource || {};
        return el('div', { class: 'block resource' }, label(`embedded resource ${r.uri ?? ''} ${r.mimeType ?? ''}`), resourceBody(r));
      }
      case 'resource_link':
        return el('div', { class: 'block link' }, label('resource link'), el('pre', { text: `${block.name ?? ''} ${block.uri}`.trim() }));
      default:
        return el('div', { class: 'block' }, label(block.type ?? 'unknown'), el('pre', { text: pretty(block) }));
    }
  }

  function resourceBody(contents) {
    if (contents.text !== undefined) return el('pre', { class: 'resource-text', text: contents.text });
    if (contents.blob !== undefined) {
      if ((contents.mimeType || '').startsWith('image/')) {
        return el('img', { src: `data:${contents.mimeType};base64,${contents.blob}`, alt: contents.uri || 'resource' });
      }
      return el('pre', { text: `${contents.blob.length} base64 characters` });
    }
    return el('pre', { text: pretty(contents) });
  }

  function renderToolResult(card, result) {
    const failed = result.isError === true;
    card.classList.add(failed ? 'error' : 'ok');
    const body = card.querySelector('.card-body');
    fill(body);
    if (failed) body.append(el('div', { class: 'block is-error' }, el('div', { class: 'block-label', text: 'isError: true — the tool reported a failure' })));
    for (const block of result.content || []) body.append(renderBlock(block));
    if (result.structuredContent !== undefined) {
      body.append(el('div', { class: 'block structured' }, el('div', { class: 'block-label', text: 'structuredContent' }), el('pre', { text: pretty(result.structuredContent) })));
    }
  }

  // ---------------------------------------------------------------- tools

  async function loadTools() {
    try {
      app.tools = await listAll('tools/list', 'tools');
    } catch (err) {
      app.tools = [];
      logEvent(`tools/list failed: ${err.message}`);
    }
    renderList('tool-list', app.tools, (t) => t.name, (t) => t.title || t.description, showTool, 'n-tools');
    const current = $('tool-detail').dataset.tool;
    const again = current && app.tools.find((t) => t.name === current);
    if (again) showTool(again);
  }

  function renderList(listId, items, nameOf, descOf, onSelect, countId) {
    const list = $(listId);
    fill(list);
    if (countId) $(countId).textContent = items.length ? String(items.length) : '';
    if (!items.length) { list.append(el('li', { class: 'muted', text: app.state === 'ready' ? 'none' : '–' })); return; }
    for (const item of items) {
      const button = el('button', { type: 'button', 'data-name': nameOf(item) },
        el('span', { class: 'name', text: nameOf(item) }), descOf(item) ? el('span', { class: 'desc', text: descOf(item) }) : null);
      button.addEventListener('click', () => {
        for (const b of list.querySelectorAll('button')) b.removeAttribute('aria-current');
        button.setAttribute('aria-current', 'true');
        onSelect(item);
      });
      list.append(el('li', {}, button));
    }
  }

  /** Shows `tool`'s form; `args` (from the history's Edit) starts it as raw JSON. */
  function showTool(tool, args) {
    const detail = $('tool-detail');
    detail.className = '';
    detail.dataset.tool = tool.name;
    const form = argumentsForm(tool.inputSchema, `tool-${tool.name}`, args);
    const timeout = el('input', { type: 'number', id: 'call-timeout', min: '1', value: '60', 'aria-label': 'timeout in seconds' });
    const error = el('div', { class: 'form-error', role: 'alert' });
    const submit = el('button', { type: 'submit', class: 'primary', id: 'call-btn', text: `Call ${tool.name}` });
    const formNode = el('form', { id: 'tool-form', novalidate: true }, form.node,
      el('div', { class: 'row' }, el('label', { for: 'call-timeout' }, 'timeout (s)', timeout), submit), error);
    formNode.addEventListener('submit', (e) => {
      e.preventDefault();
      error.textContent = '';
      let args;
      try { args = form.get(); } catch (err) { error.textContent = err.message; return; }
      callTool(tool, args, Math.max(1, Number(timeout.value) || 60) * 1000);
    });
    fill(detail, 
      el('h2', { text: tool.title || tool.name }),
      tool.description ? el('p', { class: 'muted', text: tool.description }) : null,
      tool.annotations ? el('p', { class: 'hint', text: `annotations: ${JSON.stringify(tool.annotations)}` }) : null,
      formNode,
      el('details', {}, el('summary', { text: 'inputSchema' }), el('pre', { text: pretty(tool.inputSchema) })),
      tool.outputSchema ? el('details', {}, el('summary', { text: 'outputSchema' }), el('pre', { text: pretty(tool.outputSchema) })) : null);
    const first = detail.querySelector('input, select, textarea');
    if (first) first.focus();
  }

  /** Calls `tool` with `args`; a card in the Tools tab follows the call and its input rounds. */
  function callTool(tool, args, timeoutMs) {
    const status = el('span', { class: 'status call-status', text: 'running' });
    const bar = el('progress', { max: '1', 'aria-label': `${tool.name} progress` });
    bar.hidden = true;
    const progressMsg = el('span', { class: 'progress-msg' });
    const cancel = el('button', { type: 'button', class: 'danger cancel-btn', text: 'Cancel' });
    const rounds = el('ol', { class: 'rounds', 'aria-label': 'input rounds' });
    const card = el('div', { class: 'card call-card', 'data-tool': tool.name, 'data-rounds': '0' },
      el('div', { class: 'card-head' }, el('span', { class: 'title', text: tool.name }), el('code', { text: JSON.stringify(args) }), status, cancel),
      bar, progressMsg, rounds, el('div', { class: 'card-body' }));
    $('calls').prepend(card);
    selectTab('tools');
    const entry = historyStart('tools/call', { name: tool.name, arguments: args }, tool.name, () => callTool(tool, args, timeoutMs));
    entry.edit = () => { selectTab('tools'); showTool(tool, args); };
    renderHistoryEntry(entry);
    const started = performance.now();
    const roundItems = new Map();
    const call = runRequest('tools/call', { name: tool.name, arguments: args }, {
      timeoutMs,
      label: `tools/call ${tool.name}`,
      onSent: (id, round) => {
        card.dataset.id = String(id);
        if (round > 0) {
          status.textContent = `retried as #${id} (round ${round} answered)`;
          const item = roundItems.get(round);
          if (item) item.querySelector('.round-state').textContent = `answered, retried as #${id}`;
        }
      },
      onRound: (round, requests) => {
        card.dataset.rounds = String(round);
        entry.rounds = round;
        const asked = Object.entries(requests).map(([key, r]) => `${r?.method ?? '?'} (${key})`).join(', ');
        status.textContent = `waiting for input (round ${round})`;
        const item = el('li', { class: 'round', 'data-round': String(round) },
          `round ${round} · input_required: ${asked || 'nothing asked, state only'} — `,
          el('span', { class: 'round-state', text: 'answer it in Input requests' }));
        roundItems.set(round, item);
        rounds.append(item);
      },
      onAnswered: (round, key, method) => {
        const item = roundItems.get(round);
        if (item) item.querySelector('.round-state').textContent = `answered ${method ?? key}, waiting for the others`;
      },
      onProgress: (p) => {
        bar.hidden = false;
        if (typeof p.total === 'number' && p.total > 0) {
          bar.max = p.total;
          bar.value = p.progress;
        } else {
          bar.removeAttribute('value');
        }
        card.dataset.progress = String(p.progress);
        progressMsg.textContent = `${p.progress}${p.total !== undefined ? ` / ${p.total}` : ''}${p.message ? ` — ${p.message}` : ''}`;
      },
    });
    cancel.addEventListener('click', () => call.cancel('cancelled by the user'));
    call.promise.then((result) => {
      const n = Number(card.dataset.rounds);
      status.textContent = `done in ${Math.round(performance.now() - started)} ms${n ? ` after ${n} input round(s)` : ''}${result.isError ? ' — isError' : ''}`;
      card.dataset.outcome = result.isError ? 'tool-error' : 'ok';
      renderToolResult(card, result);
      historyEnd(entry, result.isError ? 'tool error' : 'ok', result);
    }, (err) => {
      const cancelled = err.message.startsWith('cancelled');
      const abandoned = err.message.startsWith('abandoned');
      status.textContent = cancelled ? 'cancelled' : abandoned ? err.message : `failed: ${err.message}`;
      card.dataset.outcome = cancelled ? 'cancelled' : abandoned ? 'abandoned' : 'failed';
      card.classList.add('error');
      historyEnd(entry, card.dataset.outcome, err.message);
    }).finally(() => cancel.remove());
  }

  // ---------------------------------------------------------------- resources

  async function loadResources() {
    const caps = app.capabilities || {};
    if (!caps.resources) {
      app.resources = app.templates = [];
    } else {
      try { app.resources = await listAll('resources/list', 'resources'); } catch (err) { app.resources = []; logEvent(`resources/list failed: ${err.message}`); }
      try { app.templates = await listAll('resources/templates/list', 'resourceTemplates'); } catch (err) { app.templates = []; logEvent(`resources/templates/list failed: ${err.message}`); }
    }
    renderList('resource-list', app.resources, (r) => r.uri, (r) => r.name || r.description, showResource, 'n-resources');
    renderList('template-list', app.templates, (t) => t.uriTemplate, (t) => t.name || t.description, showTemplate);
  }

  function showResource(resource) {
    const detail = $('resource-detail');
    detail.className = '';
    const read = el('button', { type: 'button', class: 'primary', id: 'read-btn', text: 'Read', onclick: () => readResource(resource.uri) });
    // Legacy: resources/subscribe; 2026-07-28: the URI joins the page's subscriptions/listen.
    const sub = canSubscribe() ? el('button', { type: 'button', id: 'subscribe-btn', 'data-uri': resource.uri, text: app.subscriptions.has(resource.uri) ? 'Unsubscribe' : 'Subscribe' }) : null;
    if (sub) sub.addEventListener('click', () => setSubscribed(resource.uri, !app.subscriptions.has(resource.uri)));
    fill(detail, el('h2', { text: resource.name || resource.uri }),
      el('p', { class: 'muted' }, resource.uri, resource.mimeType ? ` · ${resource.mimeType}` : '', resource.description ? ` · ${resource.description}` : ''),
      el('div', { class: 'row' }, read, sub));
    read.focus();
  }

  /** The variables of an RFC 6570 template (`{a}`, `{+a}`, `{?a,b}`...). */
  function templateVars(template) {
    const vars = [];
    for (const m of template.matchAll(/\{([+#./;?&]?)([^}]+)\}/g)) {
      for (const name of m[2].split(',')) vars.push({ op: m[1], name: name.replace(/[*]|:\d+$/g, '') });
    }
    return vars;
  }

  function expandTemplate(template, values) {
    return template.replace(/\{([+#./;?&]?)([^}]+)\}/g, (_, op, names) => {
      const parts = names.split(',').map((n) => n.replace(/[*]|:\d+$/g, '')).filter((n) => values[n] !== undefined && values[n] !== '');
      const enc = (v) => (op === '+' || op === '#' ? encodeURI(v) : encodeURIComponent(v));
      if (!parts.length) return '';
      if (op === '?' || op === '&') return op + parts.map((n) => `${n}=${enc(values[n])}`).join('&');
      const prefix = op === '+' ? '' : op;
      const sep = op === '.' || op === '/' ? op : ',';
      return prefix + parts.map((n) => enc(values[n])).join(sep);
    });
  }

  function showTemplate(template) {
    const detail = $('resource-detail');
    detail.className = '';
    const inputs = templateVars(template.uriTemplate).map((v) => {
      const id = `tv-${v.name}`;
      const listId = `${id}-options`;
      const input = el('input', { id, name: v.name, type: 'text', spellcheck: 'false' });
      const options = attachCompletion(input, listId, () => ({ type: 'ref/resource', uri: template.uriTemplate }), v.name, () => valuesOf());
      return { name: v.name, input, node: el('div', { class: 'field' }, el('label', { for: id, text: v.name }), el('div', { class: 'combo' }, input, options)) };
    });
    const valuesOf = () => Object.fromEntries(inputs.map((i) => [i.name, i.input.value]));
    const preview = el('code', { text: template.uriTemplate });
    for (const i of inputs) i.input.addEventListener('input', () => { preview.textContent = expandTemplate(template.uriTemplate, valuesOf()); });
    const form = el('form', {}, inputs.map((i) => i.node), el('p', {}, 'URI: ', preview),
      el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary', text: 'Read' })));
    form.addEventListener('submit', (e) => { e.preventDefault(); readResource(expandTemplate(template.uriTemplate, valuesOf())); });
    fill(detail, el('h2', { text: template.name || template.uriTemplate }),
      el('p', { class: 'muted', text: template.description || template.uriTemplate }), form);
    if (inputs[0]) inputs[0].input.focus();
  }

  function readResource(uri) {
    const out = $('resource-output');
    const status = el('span', { class: 'status', text: 'reading' });
    const card = el('div', { class: 'card resource-card', 'data-uri': uri }, el('div', { class: 'card-head' }, el('span', { class: 'title', text: uri }), status));
    out.prepend(card);
    selectTab('resources');
    const entry = historyStart('resources/read', { uri }, uri, () => readResource(uri));
    const call = runRequest('resources/read', { uri }, {
      timeoutMs: LIST_MS,
      label: `resources/read ${uri}`,
      onRound: (round) => { entry.rounds = round; status.textContent = `waiting for input (round ${round})`; },
    });
    call.promise.then((result) => {
      status.textContent = `${(result.contents || []).length} content(s)`;
      card.classList.add('ok');
      for (const c of result.contents || []) card.append(el('div', { class: 'block' }, el('div', { class: 'block-label', text: `${c.uri ?? ''} ${c.mimeType ?? ''}` }), resourceBody(c)));
      historyEnd(entry, 'ok', result);
    }, (err) => {
      card.classList.add('error');
      status.textContent = `failed: ${err.message}`;
      historyEnd(entry, 'failed', err.message);
    });
  }

  /**
   * Offers `completion/complete` suggestions under `input` as the person types (when the
   * server declares `completions`): a list to click, or to walk with the arrow keys and take
   * with Enter. Returns the list's node.
   */
  function attachCompletion(input, listId, refOf, argName, contextOf) {
    const list = el('ul', { id: listId, class: 'suggestions', role: 'listbox', 'aria-label': `suggestions for ${argName}` });
    list.hidden = true;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', listId);
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('autocomplete', 'off');
    let timer;
    let asked = 0;
    let active = -1;
    const options = () => [...list.querySelectorAll('[role=option]')];
    const hide = () => { list.hidden = true; active = -1; input.setAttribute('aria-expanded', 'false'); };
    const highlight = (i) => {
      const all = options();
      all.forEach((o, j) => o.setAttribute('aria-selected', String(j === i)));
      active = i;
      if (all[i]) input.setAttribute('aria-activedescendant', all[i].id);
    };
    const pick = (value) => {
      input.value = value;
      hide();
      input.dispatchEvent(new Event('change'));
    };
    const ask = () => {
      if (!app.capabilities?.completions) return;
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++asked;
        const context = contextOf();
        delete context[argName];
        const params = { ref: refOf(), argument: { name: argName, value: input.value } };
        if (Object.keys(context).length) params.context = { arguments: context };
        let completion;
        try { completion = (await request('completion/complete', params, { timeoutMs: 5000 }).promise).completion || {}; } catch { return; }
        if (mine !== asked) return; // a newer question is on its way
        const values = (completion.values || []).slice(0, 100);
        fill(list, values.map((v, i) => el('li', { id: `${listId}-${i}`, role: 'option', class: 'suggestion', 'aria-selected': 'false', text: v, onmousedown: (e) => { e.preventDefault(); pick(v); } })),
          completion.hasMore || (completion.total ?? 0) > values.length ? el('li', { class: 'muted more', text: `${completion.total ?? 'more'} in all: type more to narrow` }) : null);
        list.hidden = values.length === 0 || document.activeElement !== input;
        input.setAttribute('aria-expanded', String(!list.hidden));
        active = -1;
      }, 200);
    };
    input.addEventListener('input', ask);
    input.addEventListener('focus', ask);
    input.addEventListener('blur', hide);
    input.addEventListener('keydown', (e) => {
      const all = options();
      if (list.hidden || !all.length) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        highlight((active + step + all.length) % all.length);
      } else if (e.key === 'Enter' && active >= 0) {
        e.preventDefault();
        pick(all[active].textContent);
      } else if (e.key === 'Escape') {
        hide();
      }
    });
    return list;
  }

  // ---------------------------------------------------------------- prompts

  async function loadPrompts() {
    if (!app.capabilities?.prompts) {
      app.prompts = [];
    } else {
      try { app.prompts = await listAll('prompts/list', 'prompts'); } catch (err) { app.prompts = []; logEvent(`prompts/list failed: ${err.message}`); }
    }
    renderList('prompt-list', app.prompts, (p) => p.name, (p) => p.title || p.description, showPrompt, 'n-prompts');
  }

  function showPrompt(prompt) {
    const detail = $('prompt-detail');
    detail.className = '';
    detail.dataset.prompt = prompt.name;
    const args = (prompt.arguments || []).map((a) => {
      const id = `pa-${a.name}`;
      const input = el('input', { id, name: a.name, type: 'text', required: a.required, spellcheck: 'false' });
      const options = attachCompletion(input, `${id}-options`, () => ({ type: 'ref/prompt', name: prompt.name }), a.name, () => valuesOf());
      return { arg: a, input, node: el('div', { class: 'field' }, el('label', { for: id }, a.name, a.required ? el('span', { class: 'req', text: ' *' }) : null), el('div', { class: 'combo' }, input, options), a.description ? el('span', { class: 'hint', text: a.description }) : null) };
    });
    const valuesOf = () => Object.fromEntries(args.filter((a) => a.input.value !== '').map((a) => [a.arg.name, a.input.value]));
    const error = el('div', { class: 'form-error', role: 'alert' });
    const hint = app.capabilities?.completions ? el('p', { class: 'hint', text: 'The server completes these arguments: type to see its suggestions.' }) : null;
    const form = el('form', { novalidate: true, id: 'prompt-form' }, args.map((a) => a.node), hint, el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary', id: 'prompt-get-btn', text: 'Get prompt' })), error);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      error.textContent = '';
      const missing = args.filter((a) => a.arg.required && a.input.value === '').map((a) => a.arg.name);
      if (missing.length) { error.textContent = `required: ${missing.join(', ')}`; return; }
      getPrompt(prompt, valuesOf());
    });
    fill(detail, el('h2', { text: prompt.title || prompt.name }), prompt.description ? el('p', { class: 'muted', text: prompt.description }) : null, form);
    if (args[0]) args[0].input.focus();
  }

  function getPrompt(prompt, values) {
    const status = el('span', { class: 'status', text: 'getting' });
    const card = el('div', { class: 'card prompt-card', 'data-prompt': prompt.name }, el('div', { class: 'card-head' }, el('span', { class: 'title', text: prompt.name }), el('code', { text: JSON.stringify(values) }), status));
    $('prompt-output').prepend(card);
    selectTab('prompts');
    const entry = historyStart('prompts/get', { name: prompt.name, arguments: values }, prompt.name, () => getPrompt(prompt, values));
    const call = runRequest('prompts/get', { name: prompt.name, arguments: values }, {
      timeoutMs: LIST_MS,
      label: `prompts/get ${prompt.name}`,
      onRound: (round) => { entry.rounds = round; status.textContent = `waiting for input (round ${round})`; },
    });
    call.promise.then((result) => {
      status.textContent = result.description || `${(result.messages || []).length} message(s)`;
      card.classList.add('ok');
      card.dataset.outcome = 'ok';
      for (const m of result.messages || []) {
        const blocks = Array.isArray(m.content) ? m.content : [m.content];
        card.append(el('div', { class: 'block' }, el('div', { class: 'block-label', text: m.role }), blocks.map(renderBlock)));
      }
      historyEnd(entry, 'ok', result);
    }, (err) => {
      card.classList.add('error');
      card.dataset.outcome = 'failed';
      status.textContent = `failed: ${err.message}`;
      historyEnd(entry, 'failed', err.message);
    });
  }

  // ---------------------------------------------------------------- input requests (both eras)

  function respond(id, result) { send({ jsonrpc: '2.0', id, result }); }
  function respondError(id, code, message) { send({ jsonrpc: '2.0', id, error: { code, message } }); }

  function updateRequestCount() {
    const n = app.serverRequests.size;
    const badge = $('n-requests');
    badge.textContent = n ? String(n) : '';
    badge.classList.toggle('attention', n > 0);
  }

  const INPUT_METHODS = ['roots/list', 'sampling/createMessage', 'elicitation/create'];

  /**
   * The form that answers one input request (a legacy server request or one entry of a
   * 2026-07-28 `inputRequests`): {node, build()} where build() returns the result to send and
   * throws on invalid input.
   */
  function inputForm(method, params, idBase) {
    if (method === 'roots/list') {
      const area = el('textarea', { id: `${idBase}-roots`, class: 'roots-input', 'aria-label': 'root URIs, one per line', text: 'file:///' });
      return {
        node: el('div', {}, el('label', { for: `${idBase}-roots`, text: 'Root URIs, one per line' }), area),
        build: () => ({ roots: area.value.split('\n').map((s) => s.trim()).filter(Boolean).map((uri) => ({ uri })) }),
      };
    }
    if (method === 'sampling/createMessage') {
      const model = el('input', { type: 'text', id: `${idBase}-model`, value: 'human-at-the-inspector' });
      const reply = el('textarea', { id: `${idBase}-reply`, class: 'sampling-reply', 'aria-label': 'the reply text' });
      const messages = (params.messages || []).map((m) => el('div', { class: 'block' }, el('div', { class: 'block-label', text: m.role }), (Array.isArray(m.content) ? m.content : [m.content]).map(renderBlock)));
      return {
        node: el('div', {}, params.systemPrompt ? el('p', { class: 'muted', text: `system: ${params.systemPrompt}` }) : null, messages,
          el('div', { class: 'field' }, el('label', { for: `${idBase}-model`, text: 'model' }), model),
          el('div', { class: 'field' }, el('label', { for: `${idBase}-reply`, text: `reply (at most ${params.maxTokens ?? '?'} tokens)` }), reply)),
        build: () => ({ role: 'assistant', content: { type: 'text', text: reply.value }, model: model.value, stopReason: 'endTurn' }),
      };
    }
    if (method === 'elicitation/create') {
      const action = el('select', { id: `${idBase}-action`, class: 'elicit-action' }, ['accept', 'decline', 'cancel'].map((a) => el('option', { value: a, text: a })));
      const actionRow = el('div', { class: 'row' }, el('label', { for: `${idBase}-action` }, 'action', action));
      const message = el('p', { class: 'elicit-message', text: params.message || '' });
      if (params.mode === 'url') {
        // Out of band: the person opens the URL; the answer carries no content.
        const link = el('a', { href: params.url, target: '_blank', rel: 'noopener noreferrer', class: 'elicit-url', text: params.url });
        return { node: el('div', {}, message, el('p', {}, 'Open: ', link), actionRow), build: () => ({ action: action.value }) };
      }
      const schema = params.requestedSchema || { type: 'object', properties: {} };
      const fields = argumentsForm(schema, `${idBase}-elicit`);
      return {
        node: el('div', {}, message, fields.node, actionRow),
        build: () => (action.value === 'accept' ? { action: 'accept', content: fields.get() } : { action: action.value }),
      };
    }
    // A method this page does not know (a newer server): answer with raw JSON.
    const area = el('textarea', { id: `${idBase}-raw`, 'aria-label': 'the result as JSON', spellcheck: 'false', text: '{}' });
    return {
      node: el('div', {}, el('pre', { class: 'muted', text: pretty(params) }), el('label', { for: `${idBase}-raw`, text: 'result (JSON)' }), area),
      build: () => JSON.parse(area.value),
    };
  }

  let cardSeq = 0;

  /**
   * Shows one input request in the "Input requests" tab and selects it. `onReply(result)` gets
   * the built answer, `onRefuse()` the refusal; either removes the card. Returns {remove()}.
   */
  function inputRequestCard({ method, params, status, context, dataset, refuseLabel, onReply, onRefuse }) {
    const key = `card-${++cardSeq}`;
    const form = inputForm(method, params || {}, key);
    const error = el('div', { class: 'form-error', role: 'alert' });
    const remove = () => { app.serverRequests.delete(key); card.remove(); updateRequestCount(); };
    const refuse = el('button', { type: 'button', class: 'danger refuse-btn', text: refuseLabel });
    const reply = el('button', { type: 'submit', class: 'primary reply-btn', text: 'Reply' });
    const attrs = { class: 'card server-request', 'data-method': method };
    for (const [name, value] of Object.entries(dataset || {})) attrs[`data-${name}`] = value;
    const card = el('form', attrs,
      el('div', { class: 'card-head' }, el('span', { class: 'title', text: method }), el('span', { class: 'status', text: status })),
      context, form.node, el('div', { class: 'row' }, reply, refuse), error);
    card.addEventListener('submit', (e) => {
      e.preventDefault();
      let result;
      try { result = form.build(); } catch (err) { error.textContent = err.message; return; }
      try { onReply(result); remove(); } catch (err) { error.textContent = err.message; }
    });
    refuse.addEventListener('click', () => { remove(); onRefuse(); });
    app.serverRequests.set(key, { node: card });
    $('server-requests').append(card);
    updateRequestCount();
    selectTab('requests');
    const first = card.querySelector('textarea, input, select');
    if (first) first.focus();
    return { remove };
  }

  /** A request the server sent (legacy era). */
  function onServerRequest(msg) {
    if (msg.method === 'ping') { respond(msg.id, {}); return; }
    if (!INPUT_METHODS.includes(msg.method)) { respondError(msg.id, -32601, `method not found: ${msg.method}`); return; }
    inputRequestCard({
      method: msg.method,
      params: msg.params,
      status: `#${msg.id} from the server`,
      dataset: { id: String(msg.id), era: 'legacy' },
      refuseLabel: 'Refuse (error)',
      onReply: (result) => respond(msg.id, result),
      onRefuse: () => respondError(msg.id, -32603, 'refused by the person at the inspector'),
    });
  }

  /**
   * Sends a request and follows it to its final result: a 2026-07-28 `input_required` result
   * shows its input requests for answering (all of a round at once), then the request is sent
   * again with `inputResponses` and the `requestState` it carried, up to MAX_ROUNDS rounds.
   * Returns {promise, cancel(reason)}. Options as request()'s, plus `label` (shown on the
   * cards), onSent(id, round), onRound(round, inputRequests), onAnswered(round, key, method).
   */
  function runRequest(method, params, options = {}) {
    const run = { abandon: null, current: null, done: false };
    let fail;
    const stopped = new Promise((_, reject) => { fail = reject; });
    stopped.catch(() => {});
    // Ends the run: the request in flight is cancelled (`notifications/cancelled`), the
    // round's unanswered cards go away, and the promise fails with `reason`.
    run.abandon = (reason) => {
      if (run.current) cancelRequest(run.current.id, reason);
      if (run.stopRound) run.stopRound();
      fail(new Error(reason));
    };
    app.runs.add(run);
    const promise = (async () => {
      let retry = params;
      for (let round = 0; ; round++) {
        const call = request(method, retry, options);
        run.current = call;
        if (options.onSent) options.onSent(call.id, round);
        const result = await Promise.race([call.promise, stopped]);
        run.current = null;
        const type = result && typeof result === 'object' ? result.resultType : undefined;
        if (type === undefined || type === 'complete') return result;
        if (type !== 'input_required') throw new Error(`unknown resultType ${JSON.stringify(type)}`);
        const requests = result.inputRequests || {};
        if (!Object.keys(requests).length && result.requestState === undefined) {
          throw new Error('malformed input_required result: neither inputRequests nor requestState');
        }
        if (round + 1 > MAX_ROUNDS) throw new Error(`the server still needs input after ${MAX_ROUNDS} rounds`);
        if (options.onRound) options.onRound(round + 1, requests);
        const responses = await Promise.race([answerRound(run, options.label || method, round + 1, requests, options), stopped]);
        retry = { ...(params || {}) };
        delete retry.inputResponses;
        delete retry.requestState;
        if (Object.keys(responses).length) retry.inputResponses = responses;
        if (result.requestState !== undefined) retry.requestState = result.requestState;
      }
    })().finally(() => { run.done = true; app.runs.delete(run); });
    return { promise, cancel: (reason) => run.abandon(`cancelled: ${reason}`), get id() { return run.current?.id; } };
  }

  /** Shows every input request of one round; resolves with the answers by key once all are in. */
  function answerRound(run, label, round, requests, options) {
    return new Promise((resolve, reject) => {
      const keys = Object.keys(requests);
      const responses = {};
      const cards = new Map();
      run.stopRound = () => { for (const c of cards.values()) c.remove(); cards.clear(); };
      for (const key of keys) {
        const asked = requests[key] || {};
        cards.set(key, inputRequestCard({
          method: asked.method || '(no method)',
          params: asked.params,
          status: `${label} · round ${round} · ${key}`,
          context: el('p', { class: 'muted round-context', text: `input_required: answered by sending ${label} again with the answers (2026-07-28)` }),
          dataset: { key, round: String(round), era: 'modern' },
          refuseLabel: 'Abandon the request',
          onReply: (result) => {
            responses[key] = result;
            cards.delete(key);
            if (options.onAnswered) options.onAnswered(round, key, asked.method);
            if (cards.size === 0) { run.stopRound = null; resolve(responses); }
          },
          onRefuse: () => { run.stopRound(); run.stopRound = null; reject(new Error('abandoned: an input request was refused at the inspector')); },
        }));
      }
      if (!keys.length) resolve(responses);
    });
  }

  // ---------------------------------------------------------------- notifications

  function notificationSummary(msg) {
    const p = msg.params || {};
    switch (msg.method) {
      case 'notifications/message': {
        const data = typeof p.data === 'string' ? p.data : JSON.stringify(p.data);
        return `${p.level ?? ''}${p.logger ? ` ${p.logger}` : ''}: ${data}`;
      }
      case 'notifications/progress':
        return `${p.progress}${p.total !== undefined ? ` / ${p.total}` : ''}${p.message ? ` — ${p.message}` : ''}`;
      case 'notifications/resources/updated': return p.uri ?? '';
      case 'notifications/cancelled': return `request #${p.requestId}${p.reason ? `: ${p.reason}` : ''}`;
      case 'notifications/subscriptions/acknowledged': return JSON.stringify(p.notifications ?? {});
      default: return '';
    }
  }

  function recordNotification(msg) {
    const entry = { seq: ++app.notificationSeq, t: Date.now(), msg };
    app.notifications.push(entry);
    if (app.notifications.length > NOTIFICATIONS_MAX) {
      const dropped = app.notifications.shift();
      const node = $('notification-list').querySelector(`li[data-seq="${dropped.seq}"]`);
      if (node) node.remove();
    }
    if (showsNotification(entry)) $('notification-list').prepend(notificationRow(entry));
    updateNotificationCount();
  }

  function showsNotification(entry) {
    return $('show-progress').checked || entry.msg.method !== 'notifications/progress';
  }

  function notificationRow(entry) {
    const { msg } = entry;
    const listen = msg.params?._meta?.[META.subscriptionId];
    const item = el('li', { class: 'notification', 'data-seq': entry.seq, 'data-method': msg.method },
      el('div', { class: 'note-head' },
        el('span', { class: 't', text: fmtTime(entry.t) }),
        el('span', { class: 'method', text: msg.method }),
        listen !== undefined ? el('span', { class: 'muted', text: `listen #${listen}` }) : null),
      el('div', { class: 'note-sum', text: notificationSummary(msg) }));
    const details = el('details', {}, el('summary', { text: 'params' }), el('pre', { text: pretty(msg.params ?? {}) }));
    item.append(details);
    return item;
  }

  function rerenderNotifications() {
    fill($('notification-list'), app.notifications.filter(showsNotification).reverse().map(notificationRow));
    updateNotificationCount();
  }

  function updateNotificationCount() {
    $('n-notifications').textContent = app.notifications.length ? String(app.notifications.length) : '';
  }

  /** The log level: legacy `logging/setLevel`; 2026-07-28 names it on every request. */
  async function applyLogLevel() {
    if (app.era !== 'legacy' || app.state !== 'ready' || !app.capabilities?.logging) return;
    const entry = historyStart('logging/setLevel', { level: app.logLevel }, app.logLevel);
    try {
      await request('logging/setLevel', { level: app.logLevel }, { timeoutMs: LIST_MS }).promise;
      historyEnd(entry, 'ok', {});
    } catch (err) { historyEnd(entry, 'failed', err.message); }
  }

  // ---------------------------------------------------------------- subscriptions

  /** Whether the server lets this page follow resources. */
  function canSubscribe() {
    if (app.state !== 'ready') return false;
    if (app.era === 'modern') return Boolean(app.capabilities?.resources);
    return app.capabilities?.resources?.subscribe === true;
  }

  /** After (re)connecting: the log level, and every followed URI again. */
  function restoreSubscriptions() {
    applyLogLevel();
    if (app.era === 'modern') { openListen(); return; }
    if (!canSubscribe()) return;
    for (const uri of app.subscriptions) {
      request('resources/subscribe', { uri }, { timeoutMs: LIST_MS }).promise.catch((err) => logEvent(`resources/subscribe ${uri} failed: ${err.message}`));
    }
  }

  /**
   * 2026-07-28: one `subscriptions/listen` carries every list change the server announces and
   * every followed URI. A change opens a new listen before the old one is cancelled, so no
   * notification falls between them.
   */
  function openListen() {
    if (app.era !== 'modern' || app.state !== 'ready') return;
    const caps = app.capabilities || {};
    const filter = {};
    if (caps.tools?.listChanged) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (caps.resources?.listChanged) filter.resourcesListChanged = true;
    if (app.subscriptions.size) filter.resourceSubscriptions = [...app.subscriptions];
    const old = app.listen;
    app.listen = null;
    if (Object.keys(filter).length) {
      const call = request('subscriptions/listen', { notifications: filter });
      const listen = { id: call.id, filter, acknowledged: null, cancel: call.cancel };
      app.listen = listen;
      const ended = (why) => { if (app.listen === listen) { app.listen = null; logEvent(why); renderSubscriptions(); } };
      call.promise.then(() => ended('the server ended the subscriptions/listen stream'),
        (err) => { if (!err.message.startsWith('cancelled')) ended(`subscriptions/listen failed: ${err.message}`); });
    }
    if (old) old.cancel('replaced by a new subscriptions/listen');
    renderSubscriptions();
  }

  async function setSubscribed(uri, on) {
    if (app.era === 'modern') {
      if (on) app.subscriptions.add(uri); else app.subscriptions.delete(uri);
      historyEnd(historyStart('subscriptions/listen', { uri, follow: on }, `${on ? 'follow' : 'unfollow'} ${uri}`), 'ok', { resourceSubscriptions: [...app.subscriptions] });
      openListen();
      return;
    }
    const method = on ? 'resources/subscribe' : 'resources/unsubscribe';
    const entry = historyStart(method, { uri }, uri, () => setSubscribed(uri, on));
    try {
      await request(method, { uri }, { timeoutMs: LIST_MS }).promise;
      if (on) app.subscriptions.add(uri); else app.subscriptions.delete(uri);
      historyEnd(entry, 'ok', {});
    } catch (err) {
      historyEnd(entry, 'failed', err.message);
      $('resource-output').prepend(el('div', { class: 'card error', text: `${method} ${uri}: ${err.message}` }));
    }
    renderSubscriptions();
  }

  function renderSubscriptions() {
    const list = $('subscription-list');
    if (!list) return;
    const acked = app.listen?.acknowledged?.resourceSubscriptions;
    const items = [...app.subscriptions].map((uri) => {
      let state = 'subscribed';
      if (app.state !== 'ready') state = 'restored after reconnecting';
      else if (app.era === 'modern') state = acked ? (acked.includes(uri) ? `listen #${app.listen.id} acknowledged` : 'refused by the server') : 'waiting for the acknowledgement';
      const updates = app.updates.get(uri) || 0;
      return el('li', { class: 'subscription', 'data-uri': uri, 'data-acknowledged': String(app.era !== 'modern' || Boolean(acked?.includes(uri))) },
        el('span', { class: 'name', text: uri }),
        el('span', { class: 'desc', text: `${state}${updates ? ` · ${updates} update(s)` : ''}` }),
        el('button', { type: 'button', class: 'danger unsubscribe-btn', text: 'Unsubscribe', onclick: () => setSubscribed(uri, false) }));
    });
    fill(list, items.length ? items : el('li', { class: 'muted', text: 'none' }));
    const listen = app.listen;
    $('listen-info').textContent = app.era === 'modern'
      ? (listen ? `subscriptions/listen #${listen.id}: ${JSON.stringify(listen.acknowledged ?? listen.filter)}${listen.acknowledged ? '' : ' (not acknowledged yet)'}` : 'no subscriptions/listen open')
      : '';
    const button = $('subscribe-btn');
    if (button) button.textContent = app.subscriptions.has(button.dataset.uri) ? 'Unsubscribe' : 'Subscribe';
  }

  // ---------------------------------------------------------------- history

  /** Records a request made from the page; `rerun` (if any) issues it again. */
  function historyStart(method, params, label, rerun) {
    const entry = { seq: ++app.historySeq, t: Date.now(), started: performance.now(), method, params, label, rerun, outcome: 'running', rounds: 0 };
    app.history.push(entry);
    if (app.history.length > HISTORY_MAX) {
      const dropped = app.history.shift();
      const node = $('history-list').querySelector(`li[data-seq="${dropped.seq}"]`);
      if (node) node.remove();
    }
    entry.node = el('li', { class: 'history-entry', 'data-seq': entry.seq, 'data-method': method });
    renderHistoryEntry(entry);
    $('history-list').prepend(entry.node);
    $('n-history').textContent = String(app.history.length);
    return entry;
  }

  function historyEnd(entry, outcome, payload) {
    entry.outcome = outcome;
    entry.ms = Math.round(performance.now() - entry.started);
    entry.payload = payload;
    renderHistoryEntry(entry);
  }

  function renderHistoryEntry(entry) {
    const status = entry.outcome === 'running' ? 'running' : `${entry.outcome} in ${entry.ms} ms${entry.rounds ? ` · ${entry.rounds} input round(s)` : ''}`;
    const head = el('div', { class: 'card-head' },
      el('span', { class: 'muted', text: `#${entry.seq} ${fmtTime(entry.t)}` }),
      el('span', { class: 'title', text: entry.method }),
      entry.label ? el('code', { text: entry.label }) : null,
      el('span', { class: 'status history-status', text: status }),
      entry.rerun ? el('button', { type: 'button', class: 'rerun-btn', text: 'Re-run', onclick: () => entry.rerun() }) : null,
      entry.edit ? el('button', { type: 'button', class: 'edit-btn', text: 'Edit', onclick: () => entry.edit() }) : null);
    const body = el('details', {}, el('summary', { text: 'request and answer' }),
      el('div', { class: 'block-label', text: 'params' }), el('pre', { text: pretty(entry.params ?? {}) }),
      entry.payload !== undefined ? el('div', { class: 'block-label', text: entry.outcome === 'ok' ? 'result' : 'outcome' }) : null,
      entry.payload !== undefined ? el('pre', { text: typeof entry.payload === 'string' ? entry.payload : pretty(entry.payload) }) : null);
    entry.node.className = `history-entry card${entry.outcome === 'ok' ? ' ok' : entry.outcome === 'running' ? '' : ' error'}`;
    entry.node.dataset.outcome = entry.outcome;
    fill(entry.node, head, body);
  }

  // ---------------------------------------------------------------- start

  function wire() {
    $('connect-form').addEventListener('submit', (e) => { e.preventDefault(); app.attempt = 0; connect(); });
    $('disconnect-btn').addEventListener('click', disconnect);
    $('reconnect-now').addEventListener('click', () => { app.attempt = 0; connect(); });
    $('version').addEventListener('change', () => { app.attempt = 0; connect(); });
    $('log-filter').addEventListener('change', rerenderLog);
    $('log-search').addEventListener('input', rerenderLog);
    $('log-export').addEventListener('click', exportLog);
    $('log-clear').addEventListener('click', () => { app.log = []; $('n-log').textContent = ''; rerenderLog(); });
    $('log-level').addEventListener('change', () => { app.logLevel = $('log-level').value; applyLogLevel(); });
    $('show-progress').addEventListener('change', rerenderNotifications);
    $('notifications-clear').addEventListener('click', () => { app.notifications = []; rerenderNotifications(); });
    $('history-clear').addEventListener('click', () => { app.history = []; fill($('history-list')); $('n-history').textContent = ''; });
    $('ping-btn').addEventListener('click', ping);
    TABS.forEach((tab, i) => {
      const button = $(`tab-${tab}`);
      button.addEventListener('click', () => selectTab(tab));
      button.addEventListener('keydown', (e) => {
        const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
        if (!step) return;
        const next = TABS[(i + step + TABS.length) % TABS.length];
        selectTab(next);
        $(`tab-${next}`).focus();
      });
    });
    selectTab('tools');
  }

  async function start() {
    wire();
    try {
      const response = await fetch('/config.json', { cache: 'no-store' });
      if (response.ok) app.config = await response.json();
    } catch { /* the defaults: direct to /mcp */ }
    const url = $('url');
    url.value = wsUrl();
    if (app.config.mode === 'relay') {
      url.readOnly = true;
      url.title = `relayed to ${app.config.target}`;
      $('token-label').hidden = true;
      document.title = `mcp-ws inspector — ${app.config.target}`;
    }
    const params = new URLSearchParams(location.search);
    if (params.get('version')) $('version').value = params.get('version');
    if (app.config.mode === 'relay' && !relaySecret()) {
      setState('closed', 'open the full URL `mcp-ws inspect` printed: its #relay= part lets this page use the relay');
      logEvent('no relay secret: open the full URL `mcp-ws inspect` printed (with its #relay= part)');
      return;
    }
    connect();
  }

  // For tests and the console: the state of the page.
  window.inspector = {
    get state() { return app.state; },
    get era() { return app.era; },
    get version() { return app.version; },
    get log() { return app.log.slice(); },
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
