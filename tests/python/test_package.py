"""The decam Python package as a user installs it: `pip install .` of a copy
of the source tree into a new virtual environment (python3-mesonpy, no
index), then the package imports (every module of it), finds the library
it bundles with no environment variable, and explains as the tree's own
build does."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent

# Never copied by the fallback: build output, environments, VCS data.
SKIP_DIRS = {".git", "build", "builddir", "venv", ".venv", "env", "__pycache__", "demo-out",
             ".mesonpy", ".pytest_cache"}


def source_files(root):
    """The files of the source tree at root, relative to it: those git
    tracks when root is the top of a git checkout (so a virtual environment
    or a build folder in the tree, ignored or not, is never copied), else
    every regular file outside SKIP_DIRS, hidden and *.egg-info folders,
    following no symbolic link to a folder."""
    root = Path(root).resolve()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True)
    except OSError:  # no git
        top = None
    if top is not None and top.returncode == 0 and Path(top.stdout.strip()).resolve() == root:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached"], cwd=root, check=True,
                                capture_output=True).stdout.decode().split("\0")
        # A tracked file deleted in the work tree is not there to copy.
        return sorted(n for n in listed if n and (root / n).is_file())
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                         and not d.endswith(".egg-info"))
        for f in files:
            path = Path(folder) / f
            if path.is_file():
                found.append(str(path.relative_to(root)))
    return sorted(found)


def _missing():
    """Why the package cannot be built here, or None."""
    if os.environ.get("DECAM_TEST_NO_NUMPY"):
        return os.environ["DECAM_TEST_NO_NUMPY"]
    for module, package in (("mesonpy", "python3-mesonpy"), ("venv", "python3-venv"),
                            ("ensurepip", "python3-venv"), ("numpy", "python3-numpy")):
        try:
            __import__(module)
        except ImportError:
            return f"{package} is not installed"
    return None


# Run inside the new environment, outside the source tree: prints where the
# library came from and a checksum of a small explanation.
PROBE = r"""
import hashlib, sys, numpy as np, decam
image = np.zeros((32, 32, 3), np.float32)
image[8:16, 8:16] = 1.0
model = lambda b: b[:, 8:16, 8:16, 0].mean(axis=(1, 2))
with decam.Explainer(model, budget=300, seed=7) as ex:
    m = ex.explain(image)
print(decam.LIBRARY_PATH)
print(hashlib.sha256(m.tobytes()).hexdigest())
"""


@unittest.skipIf(_missing(), _missing())
class PipInstall(unittest.TestCase):
    def test_pip_install_bundles_the_library_and_gives_the_same_map(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            # A copy of the tracked files: the build writes into its source
            # directory (meson-python's native file), never into the tree.
            src = tmp / "src"
            for name in source_files(SRC):
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(SRC / name, src / name)
            venv = tmp / "venv"
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                           check=True)
            pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                                  "--no-deps", "--no-index", str(src)],
                                 capture_output=True, text=True)
            self.assertEqual(pip.returncode, 0, pip.stdout[-2000:] + pip.stderr[-2000:])
            env = {k: v for k, v in os.environ.items()
                   if k not in ("DECAM_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
            run = subprocess.run([str(venv / "bin" / "python"), "-c", PROBE], cwd=tmp, env=env,
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            where, digest = run.stdout.split()
            self.assertTrue(where.startswith(str(venv)), where)
            # Every module of the package is installed (lib/meson.build lists
            # them one by one): each imports in the new environment.
            package = SRC / "lib" / "python" / "decam"
            modules = sorted(f"decam.{p.stem}" for p in package.glob("*.py")
                             if p.stem != "__init__")
            imports = subprocess.run([str(venv / "bin" / "python"), "-c",
                                      "import importlib, sys\n"
                                      "for m in sys.argv[1:]: importlib.import_module(m)",
                                      *modules], cwd=tmp, env=env, capture_output=True, text=True)
            self.assertEqual(imports.returncode, 0, imports.stderr)
            # The same map from the tree's own build, loaded by this process.
            tree = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp,
                                  env=dict(os.environ,
                                           PYTHONPATH=str(SRC / "lib" / "python")),
                                  capture_output=True, text=True)
            self.assertEqual(tree.returncode, 0, tree.stderr)
            self.assertEqual(tree.stdout.split()[1], digest)


class SourceFiles(unittest.TestCase):
    """What test_pip_install copies: never a virtual environment or a build
    folder that sits in the source tree."""

    def _tree(self, tmp):
        root = Path(tmp) / "src"
        for name in ("meson.build", "lib/a.c", "venv/bin/python3", "venv/lib/x.py",
                     ".venv/pyvenv.cfg", "build/build.ninja", "lib/__pycache__/a.pyc"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(name)
        os.symlink("lib", root / "venv" / "lib64")  # as venv makes it
        return root

    def test_a_git_checkout_gives_its_tracked_files_alone(self):
        if shutil.which("git") is None:
            self.skipTest("git is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            root = self._tree(tmp)
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
            subprocess.run(git + ["init", "-q"], cwd=root, check=True)
            subprocess.run(git + ["add", "meson.build", "lib/a.c"], cwd=root, check=True)
            (root / "lib" / "new.c").write_text("untracked")
            self.assertEqual(source_files(root), ["lib/a.c", "meson.build"])

    def test_a_plain_folder_leaves_out_environments_and_builds(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = self._tree(tmp)
            self.assertEqual(source_files(root), ["lib/a.c", "meson.build"])

    def test_this_tree_lists_the_package(self):
        files = source_files(SRC)
        self.assertIn("pyproject.toml", files)
        self.assertIn("lib/python/decam/__init__.py", files)
        self.assertFalse([f for f in files if f.split("/")[0] in ("venv", ".venv", "build")])


if __name__ == "__main__":
    unittest.main()
