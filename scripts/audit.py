"""`make audit` and `make lock`'s layer input: the locks, their SBOMs, their vulnerabilities.

    audit.py layer-input   the layer's ranges (pyproject dependencies less boto3), for uv
    audit.py check         each lock pinned, hashed and within its ranges; a CycloneDX
                           SBOM per lock (sbom-<name>.json); pip-audit against each lock

Exit 0, or 1 on a vulnerability, 2 on a broken lock. Without a reachable vulnerability
database (no route to PyPI's JSON API or OSV) it prints `audit: SKIPPED (no
vulnerability database)` and exits 0: an audit that could not run is never reported
clean. `check` runs in the audit venv (packaging, pip-audit, cyclonedx-py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNTIME_PROVIDED = ("boto3",)  # the Lambda runtime ships it; the layer does not
# What pip-audit's default service asks for each dependency: PyPI's JSON for one release.
PROBE = "https://pypi.org/pypi/pip/24.0/json"


def project() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return data


def layer_ranges() -> list[str]:
    return [d for d in project()["dependencies"] if not d.startswith(RUNTIME_PROVIDED)]


def dev_ranges() -> list[str]:
    extras = project()["optional-dependencies"]
    out = list(project()["dependencies"])
    for extra in ("dev", "local"):
        out += [d for d in extras[extra] if not d.startswith("socialcare")]
    return out


def tool_ranges(name: str) -> list[str]:
    lines = (ROOT / "requirements" / f"{name}.in").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


LOCKS = {
    "layer": (ROOT / "layers" / "socialcare" / "requirements.txt", layer_ranges),
    "dev": (ROOT / "requirements" / "dev.txt", dev_ranges),
}


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes); SystemExit(2) when an entry is not locked."""
    from packaging.utils import canonicalize_name

    text = path.read_text().replace("\\\n", " ")
    pins: dict[str, tuple[str, int]] = {}
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        hashes = line.count("--hash=sha256:")
        if not match or not hashes:
            broken(f"{path.name}: not pinned with hashes: {line[:60]}")
        pins[canonicalize_name(match.group(1))] = (match.group(3), hashes)
    return pins


def broken(why: str) -> None:
    print(f"audit: BROKEN LOCK - {why} (run `make lock`)")
    raise SystemExit(2)


def within_ranges(name: str, path: Path, ranges: list[str]) -> None:
    """Every range is satisfied by the lock: a dependency added or narrowed since the
    last `make lock` (e.g. after a merge) fails here rather than at install time."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = read_lock(path)
    for spec in ranges:
        req = Requirement(spec)
        marker_env = {"python_version": "3.13", "sys_platform": "linux"}
        if req.marker and not req.marker.evaluate(marker_env):
            continue
        pin = pins.get(canonicalize_name(req.name))
        if pin is None or not req.specifier.contains(pin[0], prereleases=True):
            found = pin[0] if pin else "missing"
            broken(f"{name} lock: {spec} not satisfied ({found})")


def sbom(name: str, path: Path) -> Path:
    out = ROOT / f"sbom-{name}.json"
    subprocess.run(  # noqa: S603 - the audit venv's own tool
        [
            str(BIN / "cyclonedx-py"), "requirements", str(path),
            "--pyproject", str(ROOT / "pyproject.toml"),
            "--of", "JSON", "--output-reproducible", "-o", str(out),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    count = len(json.loads(out.read_text()).get("components", []))
    print(f"sbom: {out.name} ({count} components, CycloneDX)")
    return out


def database_reachable() -> bool:
    try:
        with urllib.request.urlopen(PROBE, timeout=10) as answer:
            return bool(answer.status == 200 and "vulnerabilities" in json.load(answer))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def vulnerabilities(path: Path) -> tuple[list[str], int]:
    """(findings as text, dependencies pip-audit could not check)."""
    proc = subprocess.run(  # noqa: S603 - the audit venv's own tool
        [
            str(BIN / "pip-audit"), "-r", str(path), "--require-hashes", "--disable-pip",
            "--progress-spinner", "off", "--format", "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        print(proc.stderr.strip()[-2000:])
        broken(f"pip-audit could not read {path.relative_to(ROOT)}")
    found, skipped = [], 0
    for dep in report.get("dependencies", []):
        skipped += "skip_reason" in dep
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            found.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    return found, skipped


def check() -> int:
    for name, (path, ranges) in LOCKS.items():
        within_ranges(name, path, ranges())
        print(f"lock: {path.relative_to(ROOT)} pinned, hashed, within its ranges")
        sbom(name, path)
    for tool in ("sam", "checkov", "ministack", "audit"):
        path = ROOT / "requirements" / f"{tool}.txt"
        within_ranges(tool, path, tool_ranges(tool))
    print("lock: requirements/{sam,checkov,ministack,audit}.txt pinned, hashed, within ranges")
    if not database_reachable():
        print("audit: SKIPPED (no vulnerability database)")
        return 0
    status = 0
    for name, (path, _) in LOCKS.items():
        found, skipped = vulnerabilities(path)
        for line in found:
            print(f"audit: {name}: {line}")
        if found:
            status = 1
        elif skipped == len(read_lock(path)):
            print(f"audit: {name}: SKIPPED (no vulnerability database)")
        elif skipped:
            print(f"audit: {name}: INCOMPLETE ({skipped} dependencies not checked)")
        else:
            print(f"audit: {name}: no known vulnerabilities")
    return status


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "layer-input":
        print("\n".join(layer_ranges()))
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(f"usage: {sys.argv[0]} layer-input|check")
