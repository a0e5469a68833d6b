#!/usr/bin/env python3
"""The rust-version check this CI can make with one toolchain.

Only the current stable toolchain is installed here, so CI cannot build with the declared
minimum (rust-version = 1.85, the first with edition 2024). What it checks instead: every
crate that a published crate of this workspace depends on through normal (non-dev,
non-build-only-for-tests) edges, for every feature, declares a rust-version no newer than
ours, or none. Dev-dependencies (criterion for the benches, say) may need more: they build
only this repository's own tests and benches. The build itself runs on stable (`cargo
clippy`, `cargo test` in .ci/run), so our own code is checked by the compiler there; code
using a language feature newer than 1.85 would not be caught by this script.
"""
import json
import subprocess
import sys

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"]))
packages = {p["id"]: p for p in meta["packages"]}
members = set(meta["workspace_members"])


def version(text):
    # "1.85" and "1.85.0" are the same version: compare three parts.
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


published = [pid for pid in members if packages[pid].get("publish") != []]
ours = {packages[pid]["rust_version"] for pid in published}
if len(ours) != 1 or None in ours:
    sys.exit(f"published crates must share one rust-version, found {ours}")
msrv = ours.pop()
nodes = {node["id"]: node for node in meta["resolve"]["nodes"]}
seen, todo, bad = set(), list(published), []
while todo:
    pid = todo.pop()
    if pid in seen:
        continue
    seen.add(pid)
    for dep in nodes[pid]["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if None in kinds or "build" in kinds:
            todo.append(dep["pkg"])
for pid in sorted(seen):
    rv = packages[pid].get("rust_version")
    if rv and version(rv) > version(msrv):
        bad.append(f"{packages[pid]['name']} {packages[pid]['version']} needs {rv}")
if bad:
    sys.exit(f"rust-version {msrv} is not honest:\n  " + "\n  ".join(bad))
print(f"rust-version {msrv}: {len(seen)} crates in the normal dependency graph allow it")
