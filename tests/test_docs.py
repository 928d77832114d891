"""The documentation is checked like code: its links lead somewhere, and every ``$ s2sad ...``
session it shows prints, run now, exactly what the page says it prints.

A page that quotes a run of the command line is a promise to the reader; when the output changes,
this test fails and the page is regenerated, rather than drifting from what s2sad does.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest

from s2sad import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(page: Path) -> set:
    text = _FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def _links():
    for page in PAGES:
        text = _FENCE.sub("", page.read_text())
        for target in _LINK.findall(text):
            if not re.match(r"[a-z]+://", target):
                yield pytest.param(page, target, id=f"{page.name}->{target}")


@pytest.mark.parametrize("page, target", list(_links()))
def test_link_resolves(page, target):
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.exists(), f"{page.name} links to {target}, which does not exist"
    if anchor and destination.suffix == ".md":
        assert anchor in _anchors(destination), f"{page.name} links to a missing heading: {target}"


def _sessions():
    """Each fenced block that starts with ``$ s2sad`` and writes no file: (command, expected)."""
    for page in PAGES:
        for block in _FENCE.findall(page.read_text()):
            lines = block.rstrip("\n").split("\n")
            if not lines[0].startswith("$ s2sad ") or any(
                line.startswith("$ ") for line in lines[1:]
            ):
                continue
            argv = shlex.split(lines[0][2:])[1:]
            if "-o" in argv or "--graph" in argv:
                continue
            yield pytest.param(argv, "\n".join(lines[1:]), id=f"{page.name}:{' '.join(argv)}")


@pytest.mark.parametrize("argv, expected", list(_sessions()))
def test_documented_session_prints_what_the_page_shows(argv, expected, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    status = cli.main(argv)
    printed = capsys.readouterr().out.rstrip("\n")
    assert status == 0
    assert printed == expected


def test_the_pages_show_sessions():
    """The check above runs on something: the tutorial alone quotes several sessions."""
    assert len(list(_sessions())) >= 8
