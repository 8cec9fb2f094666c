"""The repository explains itself: no Markdown document in it links outside it
(sources are cited by name), and every relative link points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_SKIP = {".venv", "node_modules", ".git", ".pytest_cache", ".mypy_cache"}


def _documents() -> list[Path]:
    return [p for p in REPO.rglob("*.md") if not _SKIP & set(p.relative_to(REPO).parts)
            and not any(part.endswith(".egg-info") for part in p.parts)]


def test_no_document_links_outside_the_repository() -> None:
    outside = [(p.relative_to(REPO), t) for p in _documents()
               for t in _LINK.findall(p.read_text("utf-8"))
               if re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]
    assert outside == []


def test_relative_links_point_at_files_that_exist() -> None:
    missing = []
    for p in _documents():
        for target in _LINK.findall(p.read_text("utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            if not (p.parent / target.split("#")[0]).exists():
                missing.append((p.relative_to(REPO), target))
    assert missing == []
