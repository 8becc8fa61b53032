"""FashionMNIST, offline: the one place that knows where the real data comes from and checks it.

torchvision's ``FashionMNIST(root, download=True)`` downloads nothing when ``root/FashionMNIST/raw/``
already holds the four extracted IDX files, so ``seed(root)`` puts them there from a local copy of
the original ``.gz`` files: Debian's ``dataset-fashion-mnist`` package, or the copy the Gradescope
zip carries (``HW1_FMNIST_DIR``). Debian re-compressed the ``.gz`` files, so their checksums differ
from torchvision's list; the checksums pinned here are of the extracted files.

    python -m hw1grader.fmnist ROOT      # seed ROOT/FashionMNIST/raw
"""

import functools
import gzip
import hashlib
import os
import stat
import sys

from .intake import remove_path

EXTRACTED_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

# The homework's FashionMNIST('./FashionMNIST/', ...) takes ./FashionMNIST/ as its root, and torchvision
# then reads ./FashionMNIST/FashionMNIST/raw/.
NOTEBOOK_ROOT = "FashionMNIST"


class DataError(RuntimeError):
    pass


def source_dir():
    """Where the original .gz files are: $HW1_FMNIST_DIR, else Debian's package."""
    for candidate in (os.environ.get("HW1_FMNIST_DIR"), DEBIAN_DIR):
        if candidate and all(os.path.isfile(os.path.join(candidate, f + ".gz")) for f in EXTRACTED_SHA256):
            return candidate
    raise DataError("FashionMNIST's .gz files were not found: install them with "
                    "`apt-get install -y dataset-fashion-mnist`, or set HW1_FMNIST_DIR to a folder holding them.")


def seed(root):
    """Put the four checked IDX files in root/FashionMNIST/raw/; returns that folder. root itself is
    trusted (made if missing); what is below it is not (see ``seed_below``)."""
    os.makedirs(root, exist_ok=True)
    return seed_below(root, ["FashionMNIST", "raw"])


def seed_below(base, parts):
    """Put the four checked IDX files in base/parts[0]/.../parts[-1]/ and return that folder.

    base is trusted; everything below it may be the submission's (the grader seeds the work folder that
    came from the upload, as root, before any sandbox): nothing there is followed. Each folder of parts
    that is anything but a real folder (a link to /var/tmp, a file) is replaced by a new folder; a file
    already in place is kept only when it is a regular file with the pinned checksum; every new file is
    created under a fresh name (O_CREAT | O_EXCL | O_NOFOLLOW) and renamed over whatever had its name
    (rename replaces a link, never writes through it). All of it relative to descriptors of folders
    opened with O_NOFOLLOW.
    """
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            below = real_folder(fd, part)
            os.close(fd)
            fd = below
        folder = os.path.join(base, *parts)
        src = None
        for name, expected in EXTRACTED_SHA256.items():
            if checked(fd, name, expected):
                continue
            src = src or source_dir()
            part = name + ".part"
            remove_path(os.path.join(folder, part))  # whatever the submission put there, unread
            out = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
            digest = hashlib.sha256()
            with gzip.open(os.path.join(src, name + ".gz")) as f_in, os.fdopen(out, "wb") as f_out:
                for block in iter(lambda: f_in.read(1 << 20), b""):
                    digest.update(block)
                    f_out.write(block)
            got = digest.hexdigest()
            if got != expected:
                os.unlink(part, dir_fd=fd)
                raise DataError(f"{name} from {src} has SHA-256 {got}, not the pinned {expected}: "
                                "that copy of FashionMNIST is not the original data set.")
            if stat.S_ISDIR(lstat_mode(fd, name)):
                remove_path(os.path.join(folder, name))  # a rename cannot replace a folder
            os.replace(part, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    return folder


def lstat_mode(fd, name):
    try:
        return os.lstat(name, dir_fd=fd).st_mode
    except FileNotFoundError:
        return 0


def real_folder(fd, name):
    """A descriptor of the real folder name in fd, made (after removing what had its name) if need be."""
    mode = lstat_mode(fd, name)
    if mode and not stat.S_ISDIR(mode):
        os.unlink(name, dir_fd=fd)  # a link (not followed), a file, a FIFO
        mode = 0
    if not mode:
        os.mkdir(name, 0o755, dir_fd=fd)
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)


def checked(fd, name, expected):
    """Whether name in fd is a regular file (not a link, never opened if a FIFO) with the pinned checksum."""
    if not stat.S_ISREG(lstat_mode(fd, name)):
        return False
    try:
        f = os.fdopen(os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd), "rb")
    except OSError:
        return False
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return False
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == expected


def read_checked(name):
    """One original IDX file as a uint8 array, after checking the extracted bytes' checksum."""
    import numpy as np

    src = source_dir()
    with gzip.open(os.path.join(src, name + ".gz"), "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != EXTRACTED_SHA256[name]:
        raise DataError(f"{name} in {src} is not the original FashionMNIST file.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@functools.lru_cache(maxsize=1)
def load_test_set():
    """The 10,000 test images (float64 in [0, 1], shape (10000, 784)) and their labels, for the clean
    room: read from the original files, never from the submission's folder."""
    import numpy as np

    images = read_checked("t10k-images-idx3-ubyte")
    labels = read_checked("t10k-labels-idx1-ubyte")
    return images.reshape(len(images), -1).astype(np.float64) / 255.0, labels.astype(np.int64)


def seed_for_notebook(folder):
    """Seed the root the homework's loading code uses when it runs in folder (the work folder, which may
    hold the submission's own FashionMNIST/: links and all, it is replaced where it is in the way)."""
    return seed_below(folder, [NOTEBOOK_ROOT, "FashionMNIST", "raw"])


if __name__ == "__main__":
    try:
        print(seed(sys.argv[1] if len(sys.argv) > 1 else "."))
    except DataError as e:
        sys.exit(f"error: {e}")
