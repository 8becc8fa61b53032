"""This machine's Python, packed as uv installs Python builds: what setup.sh's ``uv python install`` gets
when HW1_PYTHON_DOWNLOADS points here (Gradescope instead downloads python-build-standalone's build).

    python tools/local_python.py DIR     # writes DIR/python.tar.gz and DIR/downloads.json

The archive has python-build-standalone's "install_only" layout (``python/bin/python3.11``,
``python/lib/...``), made of this interpreter's installation (pyenv's, here) without its site-packages;
its interpreter finds libpython relative to itself ($ORIGIN, set with patchelf), so it runs wherever uv
unpacks it. downloads.json is uv's list of Python builds (--python-downloads-json-url) naming only it,
with its checksum. Built again only when the interpreter changes.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile

DOWNLOADS_JSON = "downloads.json"
ARCHIVE = "python.tar.gz"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(dest, seen_at=None):
    """Pack this interpreter into dest (once per interpreter); returns dest. downloads.json names the
    archive as it is seen from where uv runs: at seen_at (the folder dest is mounted at), else dest."""
    prefix = sys.base_prefix
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    executable = os.path.realpath(os.path.join(prefix, "bin", f"python{version}"))
    libdir = sysconfig.get_config_var("LIBDIR") or os.path.join(prefix, "lib")
    key = {"interpreter": sha256(executable), "version": sys.version, "seen_at": seen_at or dest}
    stamp = os.path.join(dest, "built-from.json")
    if os.path.exists(stamp) and json.load(open(stamp)) == key:
        return dest
    if not shutil.which("patchelf"):
        raise SystemExit("patchelf is missing: make image-tools (apt-get install patchelf)")
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hw1-python-") as scratch:
        top = os.path.join(scratch, "python")
        os.makedirs(os.path.join(top, "bin"))
        shutil.copy2(executable, os.path.join(top, "bin", f"python{version}"))
        for name in ("python3", "python"):
            os.symlink(f"python{version}", os.path.join(top, "bin", name))
        shutil.copytree(os.path.join(prefix, "include"), os.path.join(top, "include"), symlinks=True)
        os.makedirs(os.path.join(top, "lib"))
        for name in os.listdir(libdir):
            if name.startswith("libpython"):
                shutil.copy2(os.path.join(libdir, name), os.path.join(top, "lib", name), follow_symlinks=False)
        stdlib = os.path.join(prefix, "lib", f"python{version}")
        shutil.copytree(stdlib, os.path.join(top, "lib", f"python{version}"), symlinks=True,
                        ignore=lambda folder, names: [n for n in names if n == "__pycache__" or
                                                      (folder == stdlib and n in ("site-packages", "test"))])
        os.makedirs(os.path.join(top, "lib", f"python{version}", "site-packages"))
        # pyenv's interpreter finds libpython by an absolute RUNPATH under /root: make it relative
        subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", os.path.join(top, "bin", f"python{version}")],
                       check=True)
        archive = os.path.join(dest, ARCHIVE)
        with tarfile.open(archive + ".partial", "w:gz", compresslevel=1) as tar:
            tar.add(top, arcname="python")
        os.replace(archive + ".partial", archive)
    major, minor, patch = sys.version_info[:3]
    downloads = {f"cpython-{major}.{minor}.{patch}-linux-x86_64-gnu": {
        "name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux", "libc": "gnu",
        "major": major, "minor": minor, "patch": patch, "prerelease": "", "variant": None,
        "url": f"file://{seen_at or dest}/{ARCHIVE}", "sha256": sha256(archive)}}
    with open(os.path.join(dest, DOWNLOADS_JSON), "w") as f:
        json.dump(downloads, f, indent=2)
    with open(stamp, "w") as f:
        json.dump(key, f)
    return dest


if __name__ == "__main__":
    print(build(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "local-python")))
