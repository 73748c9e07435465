"""Runs the Python tests (unittest, no pytest needed) and prints, last,
"N passed, N failed" (", N skipped" when some were). Exit status 1 on any
failure. Usage: python3 runner.py [test_module ...]"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
modules = sys.argv[1:] or ["test_binding", "test_torch", "test_opencv", "test_realmodel"]
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
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses) + broken
skipped = len(result.skipped)
passed = result.testsRun - failed + broken - skipped - len(result.expectedFailures)
for test, reason in result.skipped:
    print(f"SKIPPED {test.id()}: {reason}")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
