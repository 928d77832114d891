"""Options of the test suite, and the summary of the differential tests (tests/differential)."""

import collections
import json

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """The suite runs on every core where pytest-xdist is installed (the test extra), as if given
    ``-n auto``; without it, in one process. ``-n 0`` (or any ``-n``) still decides."""
    worker = hasattr(config, "workerinput")  # a worker runs its share, never workers of its own
    if config.pluginmanager.hasplugin("xdist") and not worker:
        if config.getoption("numprocesses") is None:
            config.option.numprocesses = "auto"


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="run long hunts: 1000 random programs in tests/differential (S2SAD_DIFF_PROGRAMS=N "
        "sets another number)",
    )


def pytest_terminal_summary(terminalreporter):
    """How many programs the differential tests ran, and what s2sad refused or got wrong, summed
    over the test items (and over the xdist workers, which send each item's properties back)."""
    programs, refusals, failures = 0, collections.Counter(), collections.Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for key, value in getattr(report, "user_properties", ()):
                if key != "differential":
                    continue
                summary = json.loads(value)
                programs += summary["programs"]
                refusals.update(summary["refusals"])
                failures.update(summary["failures"])
    if not programs:
        return
    write = terminalreporter.write_line
    terminalreporter.section("differential tests")
    write(f"{programs} random programs; failures by check: {dict(failures) or 'none'}")
    write(f"refusals (S2SADError), by check and message: {sum(refusals.values())}")
    for message, count in refusals.most_common(15):
        write(f"  {count:5d}  {message}")
