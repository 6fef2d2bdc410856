"""The metric series the code can emit, read from the code itself.

Every `count("Name", ..., dim=value)` call of the library and the handlers is one series
per combination of its dimension values. A constant (or a conditional between constants)
is one value; a variable must be a dimension with a known, bounded domain (`DOMAINS`);
anything else, such as an exception's class name, is reported as unbounded.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from socialcare.models import TOPICS, Reason
from socialcare.settings import Mode
from socialcare_cli.template import REPO, load_template

CODE = [REPO / "layers" / "socialcare" / "socialcare", REPO / "functions"]
Series = tuple[str, tuple[tuple[str, str], ...]]


def scheduled_sources(template: dict[str, Any] | None = None) -> list[str]:
    """The sources FetchMentions is scheduled for: what `source.name` can be."""
    resources = (template or load_template())["Resources"]
    names = set()
    for res in resources.values():
        for event in res.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "ScheduleV2" and "source" in str(event["Properties"]):
                names.add(json.loads(event["Properties"]["Input"])["source"])
    return sorted(names)


def domains() -> dict[str, list[str]]:
    """Dimensions whose value may be a variable, with every value it can take."""
    return {
        "source": scheduled_sources(),
        "topic": list(TOPICS),
        "reason": [r.value for r in Reason],
        "mode": list(get_args(Mode)),
    }


@dataclass
class Scan:
    series: set[Series] = field(default_factory=set)
    unbounded: list[str] = field(default_factory=list)  # "path:line name dim=expression"

    @property
    def metrics(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, _ in sorted(self.series):
            out[name] = out.get(name, 0) + 1
        return out


def _values(node: ast.expr, dim: str, known: dict[str, list[str]]) -> list[str] | None:
    if isinstance(node, ast.Constant):
        return [str(node.value)]
    if isinstance(node, ast.IfExp):
        a, b = _values(node.body, dim, known), _values(node.orelse, dim, known)
        return None if a is None or b is None else sorted({*a, *b})
    return known.get(dim)


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "count"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node


def _imports_count(text: str) -> bool:
    tree = ast.parse(text)
    return any(
        isinstance(n, ast.ImportFrom)
        and n.module == "socialcare.observability"
        and any(a.name == "count" for a in n.names)
        for n in ast.walk(tree)
    ) or ("def count(" in text and "observability" in text)


def scan(roots: list[Path] | None = None, known: dict[str, list[str]] | None = None) -> Scan:
    known = domains() if known is None else known
    out = Scan()
    for root in roots or CODE:
        for path in sorted(root.rglob("*.py")):
            text = path.read_text("utf-8")
            if not _imports_count(text):
                continue  # a local count() (the classifier's cue counter) is no metric
            for call in _calls(ast.parse(text)):
                name = str(call.args[0].value)  # type: ignore[attr-defined]
                combos: list[tuple[tuple[str, str], ...]] = [()]
                for kw in call.keywords:
                    if kw.arg in (None, "value"):
                        continue
                    values = _values(kw.value, kw.arg, known)
                    if values is None:
                        where = f"{path.name}:{call.lineno}"
                        out.unbounded.append(f"{where} {name} {kw.arg}={ast.unparse(kw.value)}")
                        values = ["?"]
                    combos = [(*c, (kw.arg, v)) for c in combos for v in values]
                out.series |= {(name, tuple(sorted(c))) for c in combos}
    return out
