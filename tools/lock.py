"""Write ``requirements.lock``: every package of a working environment, pinned, with its files' hashes.

    python tools/lock.py --venv .lock-venv --out requirements.lock     (what ``make lock`` runs)

The lock is for the interpreter that runs this script (CPython 3.11 on linux x86_64 for this project): each
package keeps the sha256 of every file on the index that this interpreter could install (several manylinux
tags of one wheel, or the sdist where there is no wheel), taken from the index's simple JSON API. ``make``
then installs exactly these files with ``pip install --require-hashes --no-deps``, so a fresh clone gets the
same environment today and after upstream publishes new releases.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

INDEX = "https://pypi.org/simple"
SKIP = {"pip"}  # the installer itself stays whatever the venv came with


def frozen(python: Path) -> dict[str, str]:
    """``name -> version`` of every distribution in the environment of ``python`` but the editable project."""
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--all", "--exclude-editable"], check=True,
                         capture_output=True, text=True).stdout
    pins = {}
    for line in out.splitlines():
        if "==" not in line:
            raise SystemExit(f"lock: cannot pin {line!r} (not from the index); install it from the index first")
        name, version = line.split("==", 1)
        if canonicalize_name(name) not in SKIP:
            pins[canonicalize_name(name)] = version
    return pins


def index_files(name: str, index: str) -> list[dict]:
    request = urllib.request.Request(f"{index}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["files"]


def hashes(name: str, version: str, index: str, supported: set) -> list[str]:
    """sha256 of the files of ``name==version`` this interpreter could install: compatible wheels, else sdists."""
    wheels, sdists = [], []
    for f in index_files(name, index):
        filename, digest = f["filename"], f.get("hashes", {}).get("sha256")
        if not digest or f.get("yanked"):
            continue
        if filename.endswith(".whl"):
            _, v, _, tags = parse_wheel_filename(filename)
            if v == Version(version) and tags & supported:
                wheels.append(digest)
        elif filename.endswith((".tar.gz", ".zip")):
            try:
                _, v = parse_sdist_filename(filename)
            except ValueError:
                continue
            if v == Version(version):
                sdists.append(digest)
    found = sorted(wheels or sdists)
    if not found:
        raise SystemExit(f"lock: {name}=={version} has no file on {index} that this interpreter can install")
    return found


def render(pins: dict[str, str], index: str) -> str:
    supported = set(sys_tags())
    impl = f"{sys.implementation.name} {sys.version_info.major}.{sys.version_info.minor}"
    lines = [f"# The whole environment of `make`, pinned with hashes, for {impl} on {sys.platform} "
             f"({next(iter(sys_tags())).platform}).",
             "# Written by `make lock` (tools/lock.py) after the test suite passed on it; do not edit by hand.", ""]
    for name in sorted(pins):
        digests = hashes(name, pins[name], index, supported)
        lines.append(f"{name}=={pins[name]} \\")
        lines += [f"    --hash=sha256:{d}" + (" \\" if i < len(digests) - 1 else "") for i, d in enumerate(digests)]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, required=True, help="the environment to pin (its bin/python)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--index", default=INDEX)
    args = ap.parse_args()
    text = render(frozen(args.venv / "bin" / "python"), args.index)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(args.out)
    print(f"lock: wrote {args.out} ({text.count('==')} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
