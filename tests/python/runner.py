"""Runs the Python tests (unittest, no pytest needed) and prints, last,
"N passed, N failed" (", N skipped" when some were). Exit status 1 on any
failure. Usage: python3 runner.py [test_module ...]"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    modules = sys.argv[1:] or ["test_binding", "test_boundary", "test_torch", "test_opencv",
                               "test_package", "test_dataset", "test_realmodel"]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    broken = 0
    for name in modules:
        try:
            suite.addTests(loader.loadTestsFromName(name))
        except Exception as e:  # a module that does not even import is a failure
            print(f"FAIL {name}: cannot load: {e!r}")
            broken += 1
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    # A test counts once, however many of its subtests failed.
    failed_ids = {getattr(test, "test_case", test).id()
                  for test, _ in result.failures + result.errors}
    failed = len(failed_ids) + len(result.unexpectedSuccesses) + broken
    skipped = len(result.skipped)
    passed = result.testsRun - failed + broken - skipped - len(result.expectedFailures)
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id()}: {reason}")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    sys.exit(1 if failed else 0)


# Dask's worker processes start by spawn, which imports this module again:
# the tests run only in the process that was started as a program.
if __name__ == "__main__":
    main()
