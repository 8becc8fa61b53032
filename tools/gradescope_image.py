"""Build the Gradescope image on this machine: the zip's own setup.sh, run as root in a fresh Debian root.

    python tools/gradescope_image.py --zip autograder/hw1-autograder.zip --out build/gradescope-image

1. A fresh Debian root filesystem (mmdebstrap, minbase: Debian's smallest with apt). Gradescope's base is
   Ubuntu; Debian is what this machine's registries serve, and its Python is marked externally managed
   (PEP 668) as Ubuntu 24.04's is. Cached in CACHE (a tarball, rebuilt after MAX_AGE_DAYS: setup.sh starts
   with apt-get update anyway), and unpacked afresh for every image.
2. The zip unpacked in /autograder/source, and ``setup.sh`` run there unchanged, as root, with the network
   (Debian's mirror, PyPI), in private mount and pid namespaces (nothing mounted shows outside). Only its
   two downloads from the open internet are pointed, by its documented variables, at this machine:
   HW1_PYTHON_DOWNLOADS at a build of Python 3.11.7 made from this machine's (tools/local_python.py) and
   HW1_TORCH_INDEX at the local index of torch and torchvision, which holds their plain (CUDA) build
   (HW1_TORCH_BUILD empty); and since this machine reaches PyPI through a proxy of its own, pip and uv
   are told to trust the machine's certificate bundle (gradescope_run.trust_machine_ca). apt's and uv's
   download caches are kept in CACHE between runs (they are content-checked), the image itself is not:
   every build runs setup.sh from the start.
3. A stamp (``/.hw1-image.json`` in the image): what it was built from, and the facts the tests check.

tools/gradescope_run.py --image then grades in it. Needs root, mmdebstrap and patchelf (make image-tools).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradescope_run  # noqa: E402
import local_python  # noqa: E402

CACHE = os.environ.get("HW1_IMAGE_CACHE", "/var/cache/hw1-gradescope")
SUITE = "bookworm"
MIRRORS = ("deb http://deb.debian.org/debian bookworm main",
           "deb http://deb.debian.org/debian bookworm-updates main",
           "deb http://deb.debian.org/debian-security bookworm-security main")
MAX_AGE_DAYS = 7
# the local index of torch and torchvision (this machine's); setup.sh's HW1_TORCH_INDEX points there
LOCAL_TORCH_INDEX = os.environ.get("HW1_LOCAL_TORCH_INDEX", "/opt/pypi-more")
STAMP = ".hw1-image.json"
LOCAL = "/mnt/hw1-local"  # where the local Python and torch index are mounted while setup.sh runs
# the files of the zip that decide what the image holds
IMAGE_INPUTS = ("setup.sh", "requirements.txt")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_of(source):
    """{file: sha256} of what decides the image, in an unpacked zip (or autograder/ of the repository)."""
    files = [os.path.join(source, name) for name in IMAGE_INPUTS]
    data = os.path.join(source, "fashion-mnist")
    if os.path.isdir(data):
        files += sorted(os.path.join(data, name) for name in os.listdir(data))
    return {os.path.relpath(path, source): sha256(path) for path in files}


def base_tarball():
    """The cached Debian root (a tarball), made by mmdebstrap when missing or older than MAX_AGE_DAYS."""
    key = hashlib.sha256(json.dumps([SUITE, "minbase", MIRRORS]).encode()).hexdigest()[:12]
    path = os.path.join(CACHE, f"debian-{SUITE}-minbase-{key}.tar")
    if os.path.exists(path) and time.time() - os.path.getmtime(path) < MAX_AGE_DAYS * 86400:
        return path
    if not shutil.which("mmdebstrap"):
        raise SystemExit("mmdebstrap is missing: make image-tools (apt-get install mmdebstrap)")
    partial = path + ".partial"
    subprocess.run(["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", SUITE, partial, *MIRRORS],
                   check=True)
    os.replace(partial, path)
    return path


def run_setup(rootfs, python_dir, log):
    """setup.sh, unchanged, as root in rootfs: private mount and pid namespaces, the machine's network."""
    spec = {"rootfs": rootfs, "python_dir": python_dir, "torch_index": LOCAL_TORCH_INDEX,
            "apt_cache": os.path.join(CACHE, "apt-archives"), "uv_cache": os.path.join(CACHE, "uv")}
    for d in (spec["apt_cache"], spec["uv_cache"]):
        os.makedirs(d, exist_ok=True)
    command = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--",
               sys.executable, os.path.abspath(__file__), "--inside", json.dumps(spec)]
    with open(log, "wb") as out:
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode


def inside(spec):
    mount = gradescope_run.mount
    root = spec["rootfs"]
    mount("-t", "proc", "proc", os.path.join(root, "proc"))
    gradescope_run.minimal_dev(os.path.join(root, "dev"))
    mount("--rbind", "/sys", os.path.join(root, "sys"))
    mount("--bind", "/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
    binds = [(spec["apt_cache"], "var/cache/apt/archives", False), (spec["uv_cache"], "root/.cache/uv", False),
             (spec["python_dir"], LOCAL.lstrip("/") + "/python", True),
             (spec["torch_index"], LOCAL.lstrip("/") + "/torch-index", True)]
    for source, target, read_only in binds:
        os.makedirs(os.path.join(root, target), exist_ok=True)
        mount("--bind", source, os.path.join(root, target))
        if read_only:
            mount("-o", "remount,bind,ro", os.path.join(root, target))
    env = {**gradescope_run.CONTAINER_ENV, "LANG": "C.UTF-8",
           "HW1_PYTHON_DOWNLOADS": f"{LOCAL}/python/{local_python.DOWNLOADS_JSON}",
           "HW1_TORCH_INDEX": f"file://{LOCAL}/torch-index/simple", "HW1_TORCH_BUILD": "",
           # the uv cache is another mount: uv copies from it (hard links cannot cross mounts)
           "UV_LINK_MODE": "copy"}
    gradescope_run.trust_machine_ca(root, env)
    os.chroot(root)
    os.chdir("/autograder/source")
    os.execve("/bin/bash", ["bash", "./setup.sh"], env)


def facts(rootfs):
    """What the tests check of the built image, read from it."""
    import glob
    marker = glob.glob(os.path.join(rootfs, "usr/lib/python3*/EXTERNALLY-MANAGED"))
    venv_cfg = os.path.join(rootfs, "opt/hw1-venv/pyvenv.cfg")
    cfg = dict(line.split(" = ", 1) for line in open(venv_cfg).read().splitlines() if " = " in line)
    return {"externally_managed": [os.path.relpath(m, rootfs) for m in marker], "venv": cfg}


def build(zip_path, out):
    if os.geteuid() != 0:
        raise SystemExit("building the image needs root (chroot, mounts)")
    os.makedirs(CACHE, exist_ok=True)
    start = time.monotonic()
    base = base_tarball()
    python_dir = local_python.build(os.path.join(CACHE, "python"), seen_at=f"{LOCAL}/python")
    if os.path.lexists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    subprocess.run(["tar", "-C", out, "-xpf", base, "--numeric-owner"], check=True)
    source = os.path.join(out, "autograder", "source")
    os.makedirs(source)
    gradescope_run.unzip(zip_path, source)
    log = os.path.join(out, "..", os.path.basename(out) + ".setup.log")
    setup_start = time.monotonic()
    code = run_setup(out, python_dir, log)
    setup_s = time.monotonic() - setup_start
    if code != 0:
        with open(log, errors="replace") as f:
            tail = f.read()[-4000:]
        raise SystemExit(f"setup.sh failed (exit code {code}); its output ends:\n{tail}\n(all of it: {log})")
    stamp = {"inputs": inputs_of(source), "base": os.path.basename(base), "built": time.strftime("%Y-%m-%d %H:%M"),
             "setup_s": round(setup_s), "total_s": round(time.monotonic() - start), **facts(out)}
    # what the image was built from must not stay in it: Gradescope puts the zip in /autograder at each run
    shutil.rmtree(os.path.join(out, "autograder"))
    os.makedirs(os.path.join(out, "autograder"))
    shutil.rmtree(os.path.join(out, LOCAL.lstrip("/")))
    with open(os.path.join(out, STAMP), "w") as f:
        json.dump(stamp, f, indent=2)
    return stamp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", help="the autograder zip (its setup.sh, requirements.txt and data)")
    parser.add_argument("--out", help="where to build the root filesystem (replaced)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        return inside(json.loads(args.inside))
    if not (args.zip and args.out):
        parser.error("--zip and --out are required")
    stamp = build(os.path.abspath(args.zip), os.path.abspath(args.out))
    print(json.dumps(stamp, indent=2))


if __name__ == "__main__":
    sys.exit(main())
