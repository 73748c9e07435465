#!/usr/bin/env python3
"""docs_snippets.py SRCDIR FILE.md... - runs the Python code blocks of the
manual and compares what they print with what the manual says they print.

The ```python blocks of each file run in order in one namespace, from a
temporary directory in which `examples`, `lib`, `include` and `docs` link
to the source tree's (the snippets' relative paths work, and what they
write stays in the temporary directory). A line
`print(...)  # -> TEXT` must print exactly TEXT. A block right after the
line `<!-- docs-test: skip REASON -->` is not run. Exits 1 on any
difference or error, 77 (skipped) when NumPy is missing."""
import os
import re
import sys
import tempfile
import traceback

EXPECT = re.compile(r"^(\s*)print\((.*)\)\s*# -> (.*)$")


def blocks(path):
    """(first line number, source) of each runnable python block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, skip, i = [], False, 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("<!-- docs-test: skip"):
            skip = True
        elif s == "```python":
            indent = lines[i].index("```")
            start, body = i + 2, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i][indent:])
                i += 1
            if not skip:
                out.append((start, "\n".join(body)))
            skip = False
        i += 1
    return out


def main():
    src, files = sys.argv[1], sys.argv[2:]
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("docs_snippets: skipped (no NumPy)")
        return 77
    failures = []

    def expect(where):
        def check(text, *args):
            got = " ".join(str(a) for a in args)
            if got != text:
                failures.append(f"{where}: prints {got!r}, the manual says {text!r}")
        return check

    with tempfile.TemporaryDirectory() as tmp:
        for d in ("examples", "lib", "include", "docs"):
            os.symlink(os.path.join(src, d), os.path.join(tmp, d))
        os.chdir(tmp)
        sys.path.insert(0, os.path.join(tmp, "lib", "python"))  # as if installed
        for md in files:
            namespace = {"__name__": "__docs__"}
            for start, code in blocks(os.path.join(src, md)):
                lines = code.split("\n")
                for k, line in enumerate(lines):
                    m = EXPECT.match(line)
                    if m:
                        where = f"{md}:{start + k}"
                        namespace["_expect_" + str(k)] = expect(where)
                        lines[k] = f"{m.group(1)}_expect_{k}({m.group(3)!r}, {m.group(2)})"
                try:
                    exec(compile("\n".join(lines), f"{md}:{start}", "exec"), namespace)
                except Exception:
                    failures.append(f"{md}:{start}: the block fails\n{traceback.format_exc()}")
            print(f"docs_snippets: ran the Python blocks of {md}")
    for f in failures:
        print("docs_snippets:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
