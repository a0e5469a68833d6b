// The mcp-ws inspector: a small hand-written MCP client (JSON-RPC over the page's WebSocket,
// subprotocol `mcp`, both eras) and the page around it. No dependencies, no build step.
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
  };
  const CLIENT_INFO = { name: 'mcp-ws-inspector', version: '0.1.0' };
  const LEGACY_CAPS = { roots: { listChanged: true }, sampling: {}, elicitation: {} };
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
    serverRequests: new Map(),
    subscriptions: new Set(),
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

  function resetSession() {
    app.era = app.version = app.serverInfo = app.capabilities = app.instructions = app.subprotocol = null;
    for (const [, p] of app.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('the connection closed'));
    }
    app.pending.clear();
    app.progress.clear();
    app.subscriptions.clear();
    for (const [, r] of app.serverRequests) r.node.remove();
    app.serverRequests.clear();
    updateRequestCount();
    renderConnInfo();
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
    out._meta = { [META.logLevel]: 'debug', ...(out._meta || {}), [META.version]: MODERN, [META.clientInfo]: CLIENT_INFO, [META.clientCaps]: {} };
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
        detail.prepend(el('div', { class: 'card', text: `resource updated: ${params.uri}` }));
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
    const loads = [loadTools(), loadResources(), loadPrompts()];
    return Promise.allSettled(loads).then(() => { if (generation === app.generation) logEvent('ready: lists loaded'); });
  }

  function renderConnInfo() {
    $('ci-subprotocol').textContent = app.subprotocol ?? '–';
    $('ci-version').textContent = app.version ?? '–';
    $('ci-era').textContent = app.era === 'modern' ? '2026-07-28 (no handshake, _meta on every request)' : app.era === 'legacy' ? 'legacy (initialize)' : '–';
    const info = app.serverInfo;
    $('ci-server').textContent = info ? `${info.title || info.name} ${info.version ?? ''}`.trim() : '–';
    $('ci-caps').textContent = app.capabilities ? pretty(app.capabilities) : '–';
    $('ci-instructions').textContent = app.instructions || '–';
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

  const TABS = ['tools', 'resources', 'prompts', 'requests'];
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

  /**
   * A form field for `schema`: {node, get()} where get() returns the value, `undefined` when
   * left empty, and throws on invalid input.
   */
  function schemaField(name, rawSchema, required, label = name) {
    const schema = simplify(rawSchema);
    const id = `f${++fieldSeq}`;
    const hintText = [schema.description, schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : '']
      .filter(Boolean).join(' · ');
    const labelNode = el('label', { for: id }, label, required ? el('span', { class: 'req', text: ' *', title: 'required' }) : null,
      schema.type ? el('span', { class: 'hint', text: `  ${schema.type}` }) : null);
    const wrap = (input, extra) => el('div', { class: 'field' }, labelNode, input, extra, hintText ? el('span', { class: 'hint', text: hintText }) : null);
    const placeholder = schema.default !== undefined ? String(JSON.stringify(schema.default)) : '';

    if (Array.isArray(schema.enum)) {
      const select = el('select', { id, name, required },
        required ? null : el('option', { value: '', text: '(unset)' }),
        schema.enum.map((v, i) => el('option', { value: String(i), text: JSON.stringify(v) })));
      return { node: wrap(select), get: () => (select.value === '' ? undefined : schema.enum[Number(select.value)]) };
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
        const input = long ? el('textarea', { id, name, required, placeholder }) : el('input', { id, name, type: 'text', required, placeholder, spellcheck: 'false' });
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
  function argumentsForm(schema, idPrefix) {
    const s = simplify(schema || {});
    const hasFields = s.properties && Object.keys(s.properties).length > 0;
    const fields = hasFields ? objectFields(s) : null;
    const raw = el('textarea', { id: `${idPrefix}-raw`, 'aria-label': 'arguments as JSON', spellcheck: 'false', text: '{}' });
    const rawToggle = el('input', { type: 'checkbox', id: `${idPrefix}-rawtoggle` });
    const rawWrap = el('div', { class: 'field' }, raw);
    rawWrap.hidden = hasFields;
    const fieldWrap = el('div', {}, fields ? fields.node : el('p', { class: 'muted', text: 'No declared arguments.' }));
    rawToggle.checked = !hasFields;
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

  function showTool(tool) {
    const detail = $('tool-detail');
    detail.className = '';
    detail.dataset.tool = tool.name;
    const form = argumentsForm(tool.inputSchema, `tool-${tool.name}`);
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

  function callTool(tool, args, timeoutMs) {
    const status = el('span', { class: 'status call-status', text: 'running' });
    const bar = el('progress', { max: '1', 'aria-label': `${tool.name} progress` });
    bar.hidden = true;
    const progressMsg = el('span', { class: 'progress-msg' });
    const cancel = el('button', { type: 'button', class: 'danger cancel-btn', text: 'Cancel' });
    const card = el('div', { class: 'card call-card', 'data-tool': tool.name },
      el('div', { class: 'card-head' }, el('span', { class: 'title', text: tool.name }), el('code', { text: JSON.stringify(args) }), status, cancel),
      bar, progressMsg, el('div', { class: 'card-body' }));
    $('calls').prepend(card);
    const started = performance.now();
    let call;
    try {
      call = request('tools/call', { name: tool.name, arguments: args }, {
        timeoutMs,
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
    } catch (err) {
      status.textContent = `failed: ${err.message}`;
      card.classList.add('error');
      cancel.remove();
      return;
    }
    card.dataset.id = String(call.id);
    cancel.addEventListener('click', () => call.cancel('cancelled by the user'));
    call.promise.then((result) => {
      status.textContent = `done in ${Math.round(performance.now() - started)} ms${result.isError ? ' — isError' : ''}`;
      card.dataset.outcome = result.isError ? 'tool-error' : 'ok';
      renderToolResult(card, result);
    }, (err) => {
      const cancelled = err.message.startsWith('cancelled');
      status.textContent = cancelled ? 'cancelled' : `failed: ${err.message}`;
      card.dataset.outcome = cancelled ? 'cancelled' : 'failed';
      card.classList.add('error');
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
    const canSubscribe = app.capabilities?.resources?.subscribe === true;
    const read = el('button', { type: 'button', class: 'primary', id: 'read-btn', text: 'Read', onclick: () => readResource(resource.uri) });
    const sub = canSubscribe ? el('button', { type: 'button', id: 'subscribe-btn', text: app.subscriptions.has(resource.uri) ? 'Unsubscribe' : 'Subscribe' }) : null;
    if (sub) {
      sub.addEventListener('click', async () => {
        const subscribed = app.subscriptions.has(resource.uri);
        try {
          await request(subscribed ? 'resources/unsubscribe' : 'resources/subscribe', { uri: resource.uri }, { timeoutMs: LIST_MS }).promise;
          if (subscribed) app.subscriptions.delete(resource.uri); else app.subscriptions.add(resource.uri);
          sub.textContent = subscribed ? 'Subscribe' : 'Unsubscribe';
        } catch (err) { $('resource-output').prepend(el('div', { class: 'card error', text: err.message })); }
      });
    }
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
      const input = el('input', { id, name: v.name, type: 'text', list: listId, spellcheck: 'false' });
      const options = el('datalist', { id: listId });
      attachCompletion(input, options, () => ({ type: 'ref/resource', uri: template.uriTemplate }), v.name, () => valuesOf());
      return { name: v.name, input, node: el('div', { class: 'field' }, el('label', { for: id, text: v.name }), input, options) };
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

  async function readResource(uri) {
    const out = $('resource-output');
    const card = el('div', { class: 'card resource-card', 'data-uri': uri }, el('div', { class: 'card-head' }, el('span', { class: 'title', text: uri }), el('span', { class: 'status', text: 'reading' })));
    out.prepend(card);
    try {
      const result = await request('resources/read', { uri }, { timeoutMs: LIST_MS }).promise;
      card.querySelector('.status').textContent = `${(result.contents || []).length} content(s)`;
      card.classList.add('ok');
      for (const c of result.contents || []) card.append(el('div', { class: 'block' }, el('div', { class: 'block-label', text: `${c.uri ?? ''} ${c.mimeType ?? ''}` }), resourceBody(c)));
    } catch (err) {
      card.classList.add('error');
      card.querySelector('.status').textContent = `failed: ${err.message}`;
    }
  }

  /** Offers completion/complete suggestions in `datalist` when the server has completions. */
  function attachCompletion(input, datalist, refOf, argName, contextOf) {
    let timer;
    input.addEventListener('input', () => {
      if (!app.capabilities?.completions) return;
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const context = contextOf();
        delete context[argName];
        const params = { ref: refOf(), argument: { name: argName, value: input.value } };
        if (Object.keys(context).length) params.context = { arguments: context };
        try {
          const result = await request('completion/complete', params, { timeoutMs: 5000 }).promise;
          fill(datalist, ...(result.completion?.values || []).map((v) => el('option', { value: v })));
        } catch { /* no suggestions */ }
      }, 250);
    });
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
    const args = (prompt.arguments || []).map((a) => {
      const id = `pa-${a.name}`;
      const listId = `${id}-options`;
      const input = el('input', { id, name: a.name, type: 'text', required: a.required, list: listId, spellcheck: 'false' });
      const options = el('datalist', { id: listId });
      attachCompletion(input, options, () => ({ type: 'ref/prompt', name: prompt.name }), a.name, () => valuesOf());
      return { arg: a, input, node: el('div', { class: 'field' }, el('label', { for: id }, a.name, a.required ? el('span', { class: 'req', text: ' *' }) : null), input, options, a.description ? el('span', { class: 'hint', text: a.description }) : null) };
    });
    const valuesOf = () => Object.fromEntries(args.filter((a) => a.input.value !== '').map((a) => [a.arg.name, a.input.value]));
    const error = el('div', { class: 'form-error', role: 'alert' });
    const form = el('form', { novalidate: true }, args.map((a) => a.node), el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary', id: 'prompt-get-btn', text: 'Get prompt' })), error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      const missing = args.filter((a) => a.arg.required && a.input.value === '').map((a) => a.arg.name);
      if (missing.length) { error.textContent = `required: ${missing.join(', ')}`; return; }
      const card = el('div', { class: 'card prompt-card' }, el('div', { class: 'card-head' }, el('span', { class: 'title', text: prompt.name }), el('span', { class: 'status', text: 'getting' })));
      $('prompt-output').prepend(card);
      try {
        const result = await request('prompts/get', { name: prompt.name, arguments: valuesOf() }, { timeoutMs: LIST_MS }).promise;
        card.querySelector('.status').textContent = result.description || `${(result.messages || []).length} message(s)`;
        card.classList.add('ok');
        for (const m of result.messages || []) {
          const blocks = Array.isArray(m.content) ? m.content : [m.content];
          card.append(el('div', { class: 'block' }, el('div', { class: 'block-label', text: m.role }), blocks.map(renderBlock)));
        }
      } catch (err) {
        card.classList.add('error');
        card.querySelector('.status').textContent = `failed: ${err.message}`;
      }
    });
    fill(detail, el('h2', { text: prompt.title || prompt.name }), prompt.description ? el('p', { class: 'muted', text: prompt.description }) : null, form);
    if (args[0]) args[0].input.focus();
  }

  // ---------------------------------------------------------------- server requests

  function respond(id, result) { send({ jsonrpc: '2.0', id, result }); }
  function respondError(id, code, message) { send({ jsonrpc: '2.0', id, error: { code, message } }); }

  function updateRequestCount() {
    const n = app.serverRequests.size;
    const badge = $('n-requests');
    badge.textContent = n ? String(n) : '';
    badge.classList.toggle('attention', n > 0);
  }

  function onServerRequest(msg) {
    if (msg.method === 'ping') { respond(msg.id, {}); return; }
    const known = ['roots/list', 'sampling/createMessage', 'elicitation/create'];
    if (!known.includes(msg.method)) { respondError(msg.id, -32601, `method not found: ${msg.method}`); return; }
    const params = msg.params || {};
    const error = el('div', { class: 'form-error', role: 'alert' });
    const finish = () => { app.serverRequests.delete(msg.id); card.remove(); updateRequestCount(); };
    const decline = el('button', { type: 'button', class: 'danger', text: 'Refuse (error)', onclick: () => { respondError(msg.id, -32603, 'refused by the person at the inspector'); finish(); } });
    let form;
    let build;
    if (msg.method === 'roots/list') {
      const area = el('textarea', { id: `roots-${msg.id}`, class: 'roots-input', 'aria-label': 'root URIs, one per line', text: 'file:///' });
      form = el('div', {}, el('label', { for: `roots-${msg.id}`, text: 'Root URIs, one per line' }), area);
      build = () => ({ roots: area.value.split('\n').map((s) => s.trim()).filter(Boolean).map((uri) => ({ uri })) });
    } else if (msg.method === 'sampling/createMessage') {
      const model = el('input', { type: 'text', id: `model-${msg.id}`, value: 'human-at-the-inspector' });
      const reply = el('textarea', { id: `reply-${msg.id}`, 'aria-label': 'the reply text' });
      const messages = (params.messages || []).map((m) => el('div', { class: 'block' }, el('div', { class: 'block-label', text: m.role }), (Array.isArray(m.content) ? m.content : [m.content]).map(renderBlock)));
      form = el('div', {}, params.systemPrompt ? el('p', { class: 'muted', text: `system: ${params.systemPrompt}` }) : null, messages,
        el('div', { class: 'field' }, el('label', { for: `model-${msg.id}`, text: 'model' }), model),
        el('div', { class: 'field' }, el('label', { for: `reply-${msg.id}`, text: `reply (at most ${params.maxTokens ?? '?'} tokens)` }), reply));
      build = () => ({ role: 'assistant', content: { type: 'text', text: reply.value }, model: model.value, stopReason: 'endTurn' });
    } else {
      const schema = params.requestedSchema || { type: 'object', properties: {} };
      const fields = argumentsForm(schema, `elicit-${msg.id}`);
      const action = el('select', { id: `action-${msg.id}` }, ['accept', 'decline', 'cancel'].map((a) => el('option', { value: a, text: a })));
      form = el('div', {}, el('p', { text: params.message || '' }), params.url ? el('p', { class: 'muted', text: `URL: ${params.url}` }) : null, fields.node,
        el('div', { class: 'row' }, el('label', { for: `action-${msg.id}` }, 'action', action)));
      build = () => (action.value === 'accept' ? { action: 'accept', content: fields.get() } : { action: action.value });
    }
    const reply = el('button', { type: 'submit', class: 'primary reply-btn', text: 'Reply' });
    const card = el('form', { class: 'card server-request', 'data-method': msg.method, 'data-id': String(msg.id) },
      el('div', { class: 'card-head' }, el('span', { class: 'title', text: msg.method }), el('span', { class: 'status', text: `#${msg.id} from the server` })),
      form, el('div', { class: 'row' }, reply, decline), error);
    card.addEventListener('submit', (e) => {
      e.preventDefault();
      try { respond(msg.id, build()); finish(); } catch (err) { error.textContent = err.message; }
    });
    app.serverRequests.set(msg.id, { node: card });
    $('server-requests').append(card);
    updateRequestCount();
    selectTab('requests');
    const first = card.querySelector('textarea, input, select');
    if (first) first.focus();
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
