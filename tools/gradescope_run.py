"""Grade one upload the way Gradescope runs the autograder zip, on this machine (as root).

    python tools/gradescope_run.py ZIP SUBMISSION --results DIR [--image ROOTFS] [--memory-mb N]

Gradescope builds an image once with the zip's setup.sh, then for every upload starts a Docker container
of it: the zip unpacked in /autograder/source, the upload in /autograder/submission, /autograder/results
empty; it runs /autograder/run_autograder as root and reads /autograder/results/results.json. Here:

- **the root**: the image that tools/gradescope_image.py built with setup.sh (seen through an overlay, as
  Docker does: the run writes to a layer of its own, thrown away after), or without ``--image`` a root
  made of this machine's system folders (/usr, /etc) with /opt/hw1-venv a venv of the system's Python
  that other users can run, holding this environment's packages. /autograder, /tmp, /var/tmp and /root
  are the run's own. The machine's real /autograder and /opt are never touched: everything is mounted
  in private mount, pid and network namespaces (only loopback: grading downloads nothing);
- **Docker's limits**: Docker's default capabilities only, and no namespaces at all (a seccomp filter
  as Docker's default profile: unshare and setns refused, clone refused with any namespace flag), so
  bubblewrap cannot work and the package picks its sandbox mode as on Gradescope ("uid");
- **the box's memory**: a memory cgroup limited to the box (tools/box.py), as Docker's --memory, with
  no swap. Its peak usage and whether its OOM killer fired are reported.

Prints a JSON summary: the exit code, results.json (parsed, or null), the cgroup's peak and OOM kills.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import box  # noqa: E402

# Docker's default capabilities (moby's oci/caps/defaults.go): everything else is dropped.
DOCKER_CAPS = {"chown": 0, "dac_override": 1, "fowner": 3, "fsetid": 4, "kill": 5, "setgid": 6, "setuid": 7,
               "setpcap": 8, "net_bind_service": 10, "net_raw": 13, "sys_chroot": 18, "mknod": 27,
               "audit_write": 29, "setfcap": 31}
# The environment Docker gives a container of an Ubuntu image (PATH from the image, HOME from Docker).
CONTAINER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
# what this machine needs passed on: OpenBLAS's settings for this processor (see the machine's notes)
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
VENV = "/opt/hw1-venv"
# This machine reaches PyPI through a proxy whose certificate authority only the machine's own bundle
# holds: with the network, its bundle is mounted here and pip and uv are told to trust it (standard
# variables; none is needed on Gradescope, whose downloads go straight to their servers).
CA_BUNDLE = "/mnt/hw1-local/ca-certificates.crt"
CA_VARIABLES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE")
TIMEOUT = 30 * 60  # seconds: three times Gradescope's default timeout; a grade that long is a failure


# ---- outside: the scratch folders, the cgroup, and the namespaces ----

def unzip(zip_path, dest):
    """Unpack like Gradescope's unzip: files with their modes (run_autograder, setup.sh executable)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            path = zf.extract(info, dest)
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                os.chmod(path, mode & 0o777)


def autograder_folder(scratch, zip_path, submission):
    """scratch/autograder as Gradescope lays it out: source/, submission/ (the upload), results/ (empty)."""
    root = os.path.join(scratch, "autograder")
    for name in ("source", "submission", "results"):
        os.makedirs(os.path.join(root, name))
    unzip(zip_path, os.path.join(root, "source"))
    if os.path.isdir(submission):
        shutil.copytree(submission, os.path.join(root, "submission"), dirs_exist_ok=True)
    else:
        shutil.copy(submission, os.path.join(root, "submission"))
    # Gradescope writes the submission's metadata beside it (otter reads it only for PDFs and tokens)
    with open(os.path.join(root, "submission_metadata.json"), "w") as f:
        json.dump({"id": 1, "created_at": "2023-09-29T17:00:00.000000-07:00", "assignment": {"title": "Homework 1 (code)"},
                   "users": [{"name": "Test Student", "email": "student@example.edu"}], "previous_submissions": []}, f)
    shutil.copy(os.path.join(root, "source", "run_autograder"), os.path.join(root, "run_autograder"))
    return root


def host_venv(scratch):
    """A venv of the system's Python of this Python's version (runnable by any user), whose site-packages
    will be this environment's, mounted read-only: what /opt/hw1-venv is without an image."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = f"/usr/bin/{version}"
    if not os.path.exists(base):
        raise SystemExit(f"no {base}: the Gradescope-shaped grade without an image needs the system's {version} "
                         "(or build the image: make gradescope-image)")
    venv = os.path.join(scratch, "hw1-venv")
    os.makedirs(os.path.join(venv, "bin"))
    os.makedirs(os.path.join(venv, "lib", version, "site-packages"))
    os.symlink(base, os.path.join(venv, "bin", "python"))
    os.symlink("python", os.path.join(venv, "bin", version))
    with open(os.path.join(venv, "pyvenv.cfg"), "w") as f:
        f.write("home = /usr/bin\ninclude-system-site-packages = false\n")
    os.chmod(venv, 0o755)
    import sysconfig
    return venv, sysconfig.get_paths()["purelib"]


class Cgroup:
    """A memory cgroup (v1, else v2) limited to limit bytes, without swap."""

    def __init__(self, limit):
        name = f"hw1-gradescope-{os.getpid()}-{time.monotonic_ns()}"
        v1, v2 = "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"
        if os.path.isfile(os.path.join(v1, "memory.limit_in_bytes")):
            self.version, self.path = 1, os.path.join(v1, name)
            os.mkdir(self.path)
            self.write("memory.limit_in_bytes", limit)
            if os.path.exists(os.path.join(self.path, "memory.memsw.limit_in_bytes")):
                self.write("memory.memsw.limit_in_bytes", limit)
            self.write("memory.swappiness", 0)
        else:
            root = v2 if os.path.isfile(os.path.join(v2, "cgroup.controllers")) else "/sys/fs/cgroup"
            if "memory" not in open(os.path.join(root, "cgroup.controllers")).read().split():
                raise SystemExit("no memory cgroup controller here: cannot limit the grade to the box")
            self.version, self.path = 2, os.path.join(root, name)
            os.mkdir(self.path)
            self.write("memory.max", limit)
            self.write("memory.swap.max", 0)

    def write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(value))

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def join(self):
        """Put the calling process in the cgroup (runs in the child, before exec)."""
        self.write("cgroup.procs", os.getpid())

    def figures(self):
        """(peak usage in bytes, OOM kills)."""
        if self.version == 1:
            peak = int(self.read("memory.max_usage_in_bytes"))
            control = dict(line.split() for line in self.read("memory.oom_control").splitlines())
            return peak, int(control.get("oom_kill", 0))
        events = dict(line.split() for line in self.read("memory.events").splitlines())
        peak = int(self.read("memory.peak")) if os.path.exists(os.path.join(self.path, "memory.peak")) else 0
        return peak, int(events.get("oom_kill", 0))

    def remove(self):
        for _ in range(100):
            pids = [int(p) for p in self.read("cgroup.procs").split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        os.rmdir(self.path)


def grade(zip_path, submission, results_dir, image=None, memory=None, env=None, timeout=TIMEOUT,
          command=None, network=False):
    """Grade submission with zip_path as Gradescope would, in image (a root filesystem built by setup.sh)
    or, when None, a root made of this machine's system folders. Copies /autograder/results into
    results_dir; returns a summary (see the module's docstring).

    command: run that instead of /autograder/run_autograder (the tests inspect the container so);
    network: the machine's network instead of loopback only (setup.sh needs it)."""
    if os.geteuid() != 0:
        raise SystemExit("a Gradescope-shaped grade needs root (namespaces, a cgroup, chroot)")
    memory = memory or box.memory_bytes()
    scratch = tempfile.mkdtemp(prefix="hw1-gradescope-")
    cgroup = None
    try:
        os.chmod(scratch, 0o755)
        autograder_folder(scratch, zip_path, submission)
        for name, mode in (("tmp", 0o1777), ("var-tmp", 0o1777), ("home", 0o700), ("upper", 0o755),
                           ("work", 0o755), ("root", 0o755)):
            os.mkdir(os.path.join(scratch, name))
            os.chmod(os.path.join(scratch, name), mode)
        spec = {"scratch": scratch, "image": image and os.path.abspath(image), "command": command, "network": network,
                "env": {**CONTAINER_ENV, **{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **(env or {})}}
        if image is None:
            spec["venv"], spec["site_packages"] = host_venv(scratch)
        cgroup = Cgroup(memory)
        log = os.path.join(scratch, "run_autograder.log")
        namespaces = ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", *([] if network else ["--net"])]
        start = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(["unshare", *namespaces, "--", sys.executable, os.path.abspath(__file__),
                                     "--inside", json.dumps(spec)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=cgroup.join, env={"PATH": os.environ.get("PATH", CONTAINER_ENV["PATH"])})
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        wall = time.monotonic() - start
        peak, oom_kills = cgroup.figures()
        results = os.path.join(scratch, "autograder", "results")
        os.makedirs(results_dir, exist_ok=True)
        shutil.copytree(results, results_dir, dirs_exist_ok=True)
        try:
            with open(os.path.join(results, "results.json")) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = None
        with open(log, errors="replace") as f:
            output = f.read()
        return {"exit_code": code, "results": data, "output": output[-20000:], "wall_s": round(wall, 1),
                "memory_limit": memory, "memory_peak": peak, "oom_kills": oom_kills,
                "root": image or "this machine's system folders"}
    finally:
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(scratch, ignore_errors=True)


# ---- inside the namespaces (pid 1): the container's root, Docker's limits, then run_autograder ----

def mount(*args):
    subprocess.run(["mount", *args], check=True)


def machine_ca_bundle():
    """The certificate bundle this machine's own downloads trust."""
    for name in CA_VARIABLES:
        if os.path.isfile(os.environ.get(name, "")):
            return os.environ[name]
    return "/etc/ssl/certs/ca-certificates.crt"


def trust_machine_ca(root, env):
    """Mount the machine's certificate bundle in root and point pip and uv at it (in env)."""
    target = os.path.join(root, CA_BUNDLE.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    open(target, "a").close()
    mount("--bind", "-o", "ro", machine_ca_bundle(), target)
    env.update(dict.fromkeys(CA_VARIABLES, CA_BUNDLE))


def minimal_dev(dev):
    """/dev as Docker makes it: a tmpfs with the usual devices (bound from the machine's) and /dev/shm."""
    mount("-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", dev)
    for name in DEVICES:
        open(os.path.join(dev, name), "w").close()
        mount("--bind", f"/dev/{name}", os.path.join(dev, name))
    os.mkdir(os.path.join(dev, "shm"))
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm", os.path.join(dev, "shm"))
    os.mkdir(os.path.join(dev, "pts"))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
        os.symlink(target, os.path.join(dev, name))


def host_root(spec):
    """A root of this machine's system folders (read-only), with the venv at /opt/hw1-venv."""
    root = os.path.join(spec["scratch"], "root")
    for name in ("usr", "etc", "opt/hw1-venv", "autograder", "tmp", "var/tmp", "root", "proc", "dev", "sys", "run"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    for name in ("usr", "etc"):
        mount("--rbind", f"/{name}", os.path.join(root, name))
        mount("-o", "remount,bind,ro", os.path.join(root, name))
    for name in SYSTEM_LINKS:
        if os.path.islink(f"/{name}"):
            os.symlink(os.readlink(f"/{name}"), os.path.join(root, name))
        elif os.path.isdir(f"/{name}"):
            os.makedirs(os.path.join(root, name))
            mount("--bind", "-o", "ro", f"/{name}", os.path.join(root, name))
    venv = os.path.join(root, VENV.lstrip("/"))
    mount("--bind", spec["venv"], venv)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    # this environment's packages through an overlay, as the image's are: the grade may close them to the
    # judge (chmod, chown) as it does on Gradescope, and the changes go to a layer of the run's own
    site = os.path.join(venv, "lib", version, "site-packages")
    scratch = spec["scratch"]
    os.makedirs(f"{scratch}/site-upper"), os.makedirs(f"{scratch}/site-work")
    mount("-t", "overlay", "overlay", "-o",
          f"lowerdir={spec['site_packages']},upperdir={scratch}/site-upper,workdir={scratch}/site-work", site)
    mount("--bind", os.path.join(spec["scratch"], "home"), os.path.join(root, "root"))
    return root


def image_root(spec):
    """The image through an overlay: what the run writes goes to a layer of its own."""
    root = os.path.join(spec["scratch"], "root")
    scratch = spec["scratch"]
    mount("-t", "overlay", "overlay", "-o",
          f"lowerdir={spec['image']},upperdir={scratch}/upper,workdir={scratch}/work", root)
    return root


def seccomp_no_namespaces():
    """Docker's default seccomp profile, as far as namespaces go: unshare and setns fail with EPERM,
    clone with any namespace flag too, and clone3 with ENOSYS (so that the C library falls back to clone).
    x86_64 only (this machine); a process of another ABI gets EPERM for everything."""
    if os.uname().machine != "x86_64":
        raise SystemExit("the seccomp filter is written for x86_64")
    AUDIT_ARCH_X86_64, X32 = 0xC000003E, 0x40000000
    SYS = {"clone": 56, "unshare": 272, "setns": 308, "clone3": 435}
    NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    # (code, jump if true, jump if false, k), jumps as labels resolved below
    program = [
        (LD, 0, 0, 4),                               # arch
        (JEQ, None, "eperm", AUDIT_ARCH_X86_64),
        (LD, 0, 0, 0),                               # syscall number
        (JGE, "eperm", None, X32),
        (JEQ, "eperm", None, SYS["unshare"]),
        (JEQ, "eperm", None, SYS["setns"]),
        (JEQ, "enosys", None, SYS["clone3"]),
        (JEQ, None, "allow", SYS["clone"]),
        (LD, 0, 0, 16),                              # clone's flags (low 32 bits of its first argument)
        (JSET, "eperm", "allow", NAMESPACES),
        ("allow", RET, ALLOW), ("eperm", RET, EPERM), ("enosys", RET, ENOSYS),
    ]
    labels = {item[0]: i for i, item in enumerate(program) if isinstance(item[0], str)}
    code = b""
    for i, item in enumerate(program):
        if isinstance(item[0], str):
            code += struct.pack("HBBI", item[1], 0, 0, item[2])
            continue
        op, jt, jf, k = item
        offset = lambda target: 0 if target in (None, 0) else labels[target] - i - 1  # noqa: E731
        code += struct.pack("HBBI", op, offset(jt), offset(jf), k)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    prog = SockFprog(len(code) // 8, code)
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def docker_capabilities():
    """Drop every capability Docker does not grant from the bounding set: root, after exec, has only those."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP = 24
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if cap not in DOCKER_CAPS.values() and libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")
    with open("/proc/self/status") as f:
        inheritable = next(line.split()[1] for line in f if line.startswith("CapInh:"))
    if int(inheritable, 16):
        raise SystemExit("this process has inheritable capabilities: they would outlive the bounding set")


def inside(spec):
    root = image_root(spec) if spec["image"] else host_root(spec)
    scratch = spec["scratch"]
    for source, target in (("autograder", "autograder"), ("tmp", "tmp"), ("var-tmp", "var/tmp")):
        os.makedirs(os.path.join(root, target), exist_ok=True)
        mount("--bind", os.path.join(scratch, source), os.path.join(root, target))
    mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", os.path.join(root, "proc"))
    minimal_dev(os.path.join(root, "dev"))
    try:
        mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", os.path.join(root, "sys"))
    except subprocess.CalledProcessError:
        mount("--rbind", "/sys", os.path.join(root, "sys"))
        mount("-o", "remount,bind,ro", os.path.join(root, "sys"))
    env = dict(spec["env"])
    if spec["network"]:
        mount("--bind", "/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
        trust_machine_ca(root, env)
    else:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # the kernel talks to nbclient over it
    seccomp_no_namespaces()
    docker_capabilities()
    os.chroot(root)
    os.chdir("/autograder")
    sys.stdout.flush()
    command = spec["command"] or ["/autograder/run_autograder"]
    os.execve(command[0], command, env)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", nargs="?")
    parser.add_argument("submission", nargs="?")
    parser.add_argument("--results", default="gradescope-results", help="where to copy /autograder/results")
    parser.add_argument("--image", help="a root filesystem built by tools/gradescope_image.py (default: this machine's)")
    parser.add_argument("--memory-mb", type=int, help=f"the box's memory (default: tools/box.py, {box.BOX[1]} MiB)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        return inside(json.loads(args.inside))
    if not (args.zip and args.submission):
        parser.error("ZIP and SUBMISSION are required")
    summary = grade(args.zip, args.submission, args.results, image=args.image,
                    memory=args.memory_mb and args.memory_mb << 20)
    print(json.dumps({k: v for k, v in summary.items() if k != "output"}, indent=2))
    print(summary["output"][-3000:], file=sys.stderr)
    return 0 if summary["results"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
