"""The README stays a front door and every link in it and in docs/ leads somewhere.

The README is at most 300 lines and links each page of docs/; every relative link in the
README and in docs/*.md names a file that exists and, with a #fragment, a heading of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socialcare_cli.template import TEMPLATE

ROOT = TEMPLATE.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """A page without its fenced blocks: a `#` comment in a shell block is no heading."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", prose(path), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, len(lines)


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {
        (README.parent / link.partition("#")[0]).resolve() for link in LINK.findall(prose(README))
    }
    pages = [p for p in DOCS.iterdir() if p.suffix in (".md", ".yaml")]
    assert pages and not [p.name for p in pages if p.resolve() not in linked]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_resolves(page: Path) -> None:
    links = LINK.findall(prose(page))
    assert links
    for link in links:
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), link
        if anchor:
            assert anchor in anchors(path), link
