#!/usr/bin/env python3
"""What every published crate of this workspace must carry, checked without a registry.

For each workspace member that is not `publish = false`:
  - metadata crates.io and docs.rs show: description, license, readme, keywords (one to five,
    each at most 20 characters, crates.io's rules), categories, `documentation` pointing at
    the crate's docs.rs page, no placeholder `repository`, and the docs.rs settings
    (`all-features = true`, `rustdoc-args = ["--cfg", "docsrs"]`, which turn on the feature
    badges);
  - the files `cargo package --list` would upload include LICENSE-MIT, LICENSE-APACHE and
    the README, and the crate's licence files are the same bytes as the workspace root's.

Exits non-zero with every problem listed.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LICENCES = ("LICENSE-MIT", "LICENSE-APACHE")
KEYWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,19}$")

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"], cwd=ROOT))
members = set(meta["workspace_members"])
published = [p for p in meta["packages"] if p["id"] in members and p.get("publish") != []]
problems = []


def need(condition, crate, what):
    if not condition:
        problems.append(f"{crate}: {what}")


for package in sorted(published, key=lambda p: p["name"]):
    name = package["name"]
    crate_dir = os.path.dirname(package["manifest_path"])
    need(package.get("description"), name, "no description")
    need(package.get("license"), name, "no license")
    need(package.get("readme"), name, "no readme")
    need(package.get("documentation") == f"https://docs.rs/{name}", name,
         f"documentation is {package.get('documentation')!r}, not https://docs.rs/{name}")
    keywords = package.get("keywords") or []
    need(1 <= len(keywords) <= 5, name, f"{len(keywords)} keywords (crates.io takes 1 to 5)")
    for keyword in keywords:
        need(KEYWORD.match(keyword), name, f"keyword {keyword!r} breaks crates.io's rules")
    need(package.get("categories"), name, "no categories")
    repository = package.get("repository") or ""
    need("example" not in repository and "invalid" not in repository, name,
         f"placeholder repository {repository!r}: leave it out until there is one")
    docs_rs = (package.get("metadata") or {}).get("docs", {}).get("rs", {})
    need(docs_rs.get("all-features") is True, name, "docs.rs all-features is not set")
    need(docs_rs.get("rustdoc-args") == ["--cfg", "docsrs"], name,
         "docs.rs rustdoc-args is not [\"--cfg\", \"docsrs\"]")
    listed = subprocess.run(
        ["cargo", "package", "--list", "--locked", "--allow-dirty", "-p", name],
        cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        problems.append(f"{name}: cargo package --list failed:\n{listed.stderr}")
        continue
    files = set(listed.stdout.split())
    for wanted in LICENCES + ("README.md", "Cargo.toml"):
        need(wanted in files, name, f"the package does not contain {wanted}")
    for licence in LICENCES:
        copy = os.path.join(crate_dir, licence)
        if os.path.exists(copy):
            with open(copy, "rb") as ours, open(os.path.join(ROOT, licence), "rb") as root:
                need(ours.read() == root.read(), name, f"{licence} differs from the root's")

if problems:
    sys.exit("published crates are not ready:\n  " + "\n  ".join(problems))
print(f"{len(published)} published crates carry their licences and metadata: "
      + ", ".join(sorted(p["name"] for p in published)))
