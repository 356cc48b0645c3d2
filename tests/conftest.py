"""Suite-wide policy: a skipped test is a failure.

Every test here can run on the machine `.ci/run` sets up (LibreOffice included); a skip
would mean a component silently went missing, so the run fails loudly instead.
"""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == pytest.ExitCode.OK:
        reporter.ensure_newline()
        reporter.write_line(f"{len(skipped)} tests skipped: skips fail this suite (see tests/conftest.py)", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
