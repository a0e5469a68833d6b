#!/usr/bin/env bash
# Installs the interop peers: a Python venv (.venv) with the `mcp` 1.x SDK, a second venv
# (.autobahn-venv) with kosoku (the Autobahn WebSocket test cases of tests/autobahn.rs), and
# node_modules with `@modelcontextprotocol/sdk` 1.x + `ws` (+ esbuild and playwright-core for
# the browser tests; @modelcontextprotocol/conformance, the MCP conformance suite, with the
# Node 22 of the `node` package, run with `npx conformance`), and Debian's chromium, nginx,
# redis-server, iptables and iproute2 (apt-get, when root and missing).
# Idempotent: each half is skipped when its stamp file holds the hash of its
# inputs (requirements.txt / package.json, plus the interpreter version).
# Usage: bash tests/interop/install.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

force=0
if [[ "${1:-}" == "--force" ]]; then force=1; fi

PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"

hash_of() { # hash of the given files' contents and an extra string
  local extra="$1"; shift
  { cat "$@"; printf '%s' "$extra"; } | sha256sum | cut -d' ' -f1
}

log() { echo "install.sh: $*" >&2; }

# ---------- Python ----------
py_ver="$("$PYTHON" -c 'import sys; print(sys.version)')"
py_hash="$(hash_of "$py_ver" requirements.txt)"
py_stamp=".venv/.install-stamp"
if [[ $force -eq 0 && -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_hash" && -x .venv/bin/python ]]; then
  log "python venv up to date"
else
  log "creating .venv and installing requirements.txt"
  rm -f "$py_stamp"
  if [[ ! -x .venv/bin/python ]]; then
    rm -rf .venv
    "$PYTHON" -m venv .venv
  fi
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r requirements.txt </dev/null
  .venv/bin/python -c 'import mcp.client.websocket, mcp.server.websocket, uvicorn' 
  echo "$py_hash" > "$py_stamp"
fi

# ---------- Autobahn (kosoku), in a venv of its own ----------
ab_hash="$(hash_of "$py_ver" autobahn-requirements.txt)"
ab_stamp=".autobahn-venv/.install-stamp"
if [[ $force -eq 0 && -f "$ab_stamp" && "$(cat "$ab_stamp")" == "$ab_hash" && -x .autobahn-venv/bin/kosoku ]]; then
  log "autobahn venv up to date"
else
  log "creating .autobahn-venv and installing autobahn-requirements.txt"
  rm -f "$ab_stamp"
  if [[ ! -x .autobahn-venv/bin/python ]]; then
    rm -rf .autobahn-venv
    "$PYTHON" -m venv .autobahn-venv
  fi
  .autobahn-venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r autobahn-requirements.txt </dev/null
  .autobahn-venv/bin/kosoku --help >/dev/null
  echo "$ab_hash" > "$ab_stamp"
fi

# ---------- Node ----------
node_ver="$(node --version)"
js_hash="$(hash_of "$node_ver" package.json)"
js_stamp="node_modules/.install-stamp"
if [[ $force -eq 0 && -f "$js_stamp" && "$(cat "$js_stamp")" == "$js_hash" ]]; then
  log "node_modules up to date"
else
  log "running npm install"
  rm -f "$js_stamp"
  "$NPM" install --no-package-lock --no-audit --no-fund --loglevel=error </dev/null >&2
  node -e 'import("@modelcontextprotocol/sdk/client/websocket.js").then(() => import("ws")).then(() => import("esbuild")).then(() => import("playwright-core"))'
  npx --no-install conformance --version >/dev/null
  echo "$js_hash" > "$js_stamp"
fi

# ---------- Debian packages: chromium (the browser tests; playwright-core never downloads
# one), nginx and redis-server (the scale-out and network fault tests), iptables and iproute2
# (`ip` and `tc`: the network fault tests' namespaces and faults). Installed when root and
# missing, with one apt-get update.
missing=()
for pair in chromium:/usr/bin/chromium nginx:/usr/sbin/nginx redis-server:/usr/bin/redis-server \
  iptables:/usr/sbin/iptables iproute2:/usr/sbin/tc; do
  package="${pair%%:*}" binary="${pair#*:}"
  if [[ -x "$binary" ]]; then
    log "$package present"
  else
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null >&2
    apt-get install -y -qq "${missing[@]}" </dev/null >&2
  else
    log "warning: missing ${missing[*]} (apt-get install ${missing[*]}); the tests that need them will fail"
  fi
fi

log "ok"
