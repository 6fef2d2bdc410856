"""The locks `make lock` writes: every environment's dependencies pinned with hashes, and
within the ranges they were made from (make audit fails otherwise)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def audit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AUDIT = audit_script()


@pytest.mark.parametrize("name", sorted(AUDIT.LOCKS))
def test_the_layer_and_dev_locks_are_hashed_and_within_their_ranges(name: str) -> None:
    path, ranges = AUDIT.LOCKS[name]
    AUDIT.within_ranges(name, path, ranges())
    assert all(hashes for _, hashes in AUDIT.read_lock(path).values())


def test_the_layer_ships_no_boto3_and_sam_builds_from_the_lock() -> None:
    pins = AUDIT.read_lock(ROOT / "layers" / "socialcare" / "requirements.txt")
    assert "boto3" not in pins and "botocore" not in pins and "pydantic" in pins


@pytest.mark.parametrize("tool", ["sam", "checkov", "ministack", "audit"])
def test_tool_locks_are_hashed_and_within_their_ranges(tool: str) -> None:
    AUDIT.within_ranges(tool, ROOT / "requirements" / f"{tool}.txt", AUDIT.tool_ranges(tool))


def test_an_unhashed_or_stale_lock_is_broken(tmp_path: Path) -> None:
    unhashed = tmp_path / "unhashed.txt"
    unhashed.write_text("requests==2.32.0\n")
    with pytest.raises(SystemExit) as exit_:
        AUDIT.read_lock(unhashed)
    assert exit_.value.code == 2
    stale = tmp_path / "stale.txt"
    stale.write_text("requests==2.30.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(SystemExit):
        AUDIT.within_ranges("stale", stale, ["requests>=2.31,<3"])
