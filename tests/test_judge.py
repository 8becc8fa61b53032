"""The judge, by itself: what it defines from submitted code (``definitions``), and the seccomp filter it
puts on itself. The ways around an autodiff ban that a list of names cannot close are closed here by
construction: the judge runs only the submitted definitions, in a Python without torch."""

import json
import subprocess
import sys

import pytest

from conftest import REPO
from hw1grader import definitions
from inprocess import bare_site

pytestmark = pytest.mark.fast
LIBRARY = f"{REPO}/autograder"


def defined(cells, names):
    """{name: value or repr} after running what the judge would run for `names`, in a bare Python."""
    code = ("import json, sys\nfrom hw1grader import judge\n"
            f"ns, errors = judge.namespace(json.loads({json.dumps(json.dumps(cells))}), {tuple(names)!r})\n"
            "print(json.dumps({k: (v if isinstance(v, (int, float, str)) else repr(v)[:40]) for k, v in ns.items()"
            " if not k.startswith('__')}))")
    bootstrap = f"import sys; sys.path[:0] = [{LIBRARY!r}, {bare_site()!r}]\n" + code
    out = subprocess.run([sys.executable, "-I", "-S", "-c", bootstrap], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_last_definition_of_a_name_is_the_one_run():
    ns = defined(["def f():\n    return 1", "x = 5", "def f():\n    return 2"], ["f"])
    assert "x" not in ns and "f" in ns


def test_what_a_definition_uses_comes_along_and_nothing_else():
    ns = defined(["import numpy as np, json", "SCALE = 2.0", "UNUSED = 3", "def helper(a):\n    return SCALE * a",
                  "def f(a):\n    return np.sum(helper(a))"], ["f"])
    assert set(ns) == {"np", "SCALE", "helper", "f"}


def test_ipython_syntax_binds_nothing():
    cells = ["%time f = lambda: 'magic'", "def f():\n    return 'plain'", "g = !ls", "%%writefile mod.py\ndef f(): pass",
             "%%time\ndef h():\n    return 1", "def (", "f?"]
    chosen, _ = definitions.needed(cells, ["f", "h", "g"])
    assert [s.source.split("(")[0] for s in chosen] == ["def f", "def h"]


def test_torch_does_not_exist_in_the_judges_python():
    ns = defined(["import torch", "import torchvision", "import jax", "def f():\n    return torch, torchvision, jax"], ["f"])
    assert "torch" not in ns and "torchvision" not in ns and "jax" not in ns


SECCOMP_PROBE = r'''
import os, socket, subprocess, sys, threading
from hw1grader import seccomp
assert seccomp.install()
results = {}
t = threading.Thread(target=lambda: results.setdefault("thread", "ran")); t.start(); t.join()
for what, attempt in [("fork", os.fork), ("socket", socket.socket), ("unix socket", lambda: socket.socket(socket.AF_UNIX)),
                      ("exec", lambda: os.execv(sys.executable, [sys.executable, "-c", "pass"])),
                      ("subprocess", lambda: subprocess.run(["true"])),
                      ("posix_spawn", lambda: os.posix_spawn("/bin/true", ["true"], {}))]:
    try:
        pid = attempt()
        if what == "fork" and pid == 0:
            os._exit(0)
        results[what] = "allowed"
    except OSError as e:
        results[what] = "refused"
print(results)
'''


def test_the_seccomp_filter_allows_threads_and_refuses_processes_programs_and_sockets():
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {LIBRARY!r})\n" + SECCOMP_PROBE],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    results = eval(out.stdout)
    assert results.pop("thread") == "ran"
    assert set(results.values()) == {"refused"}, results


LANDLOCK_PROBE = r'''
import os, sys
from hw1grader import judge, landlock
os.makedirs(sys.argv[1], exist_ok=True)
if not landlock.abi():
    print("unavailable"); sys.exit()
assert landlock.restrict(judge.readable_paths(), [sys.argv[1]])
results = {}
for what, path, mode in [("a file of the machine", "/etc/hostname", "r"), ("another folder", sys.argv[2], "r"),
                         ("its own folder", os.path.join(sys.argv[1], "x"), "w"), ("the shared /tmp", "/tmp/hw1-ll-x", "w")]:
    try:
        open(path, mode).close()
        results[what] = "allowed"
    except OSError:
        results[what] = "refused"
import numpy  # its import path stays readable
print(results)
'''


def test_landlock_leaves_the_judge_its_import_path_and_its_folder(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("another venv's torch, a file the room left")
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {LIBRARY!r})\n" + LANDLOCK_PROBE,
                          str(tmp_path / "mine"), str(other)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "unavailable":
        pytest.skip("this kernel offers no Landlock")
    assert eval(out.stdout) == {"a file of the machine": "refused", "another folder": "refused",
                                "its own folder": "allowed", "the shared /tmp": "refused"}
