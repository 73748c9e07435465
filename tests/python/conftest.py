"""pytest configuration of the Python tests (tests/python/run.sh runs them).

- Everything a test writes goes to one temporary directory made for the
  session and removed after it (DECAM_TEST_WORK, which the tests'
  work_dir() reads); run.sh's helpers stay in BUILD_DIR/python-tests.
- The last line printed is "N passed, N failed" (", N skipped" when some
  were), which tests/run.sh adds to its totals: a test counts once (a
  failure in setup, call or teardown is one failure), a module that does
  not import counts as one failure. Each skipped test is listed on one
  line with its reason before it.
"""
import os
import shutil
import sys
import tempfile

_counts = {"passed": set(), "failed": set(), "skipped": {}}
_broken = []
_work = []


def pytest_configure(config):
    work = tempfile.mkdtemp(prefix="decam-pytest-")
    _work.append(work)
    os.environ["DECAM_TEST_WORK"] = work


def pytest_collectreport(report):
    if report.failed:
        _broken.append(report.nodeid)


def pytest_runtest_logreport(report):
    node = report.nodeid
    if report.failed:
        _counts["failed"].add(node)
    elif report.skipped and report.when in ("setup", "call"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _counts["skipped"][node] = reason.removeprefix("Skipped: ")
    elif report.passed and report.when == "call":
        _counts["passed"].add(node)


def pytest_unconfigure(config):
    for work in _work:
        shutil.rmtree(work, ignore_errors=True)
    if config.option.collectonly:
        return
    failed = _counts["failed"]
    skipped = {k: v for k, v in _counts["skipped"].items() if k not in failed}
    passed = _counts["passed"] - failed - set(skipped)
    out = sys.stdout
    for node in _broken:
        out.write(f"FAIL {node}: cannot be collected (it does not import)\n")
    for node, reason in sorted(skipped.items()):
        out.write(f"SKIPPED {node}: {reason}\n")
    n_failed = len(failed) + len(_broken)
    out.write(f"{len(passed)} passed, {n_failed} failed" +
              (f", {len(skipped)} skipped" if skipped else "") + "\n")
    out.flush()
