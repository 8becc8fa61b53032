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
import shutil
import sys

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


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seed(root):
    """Put the four checked IDX files in root/FashionMNIST/raw/; returns that folder."""
    raw = os.path.join(root, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    src = None
    for name, expected in EXTRACTED_SHA256.items():
        target = os.path.join(raw, name)
        if os.path.isfile(target) and sha256(target) == expected:
            continue
        src = src or source_dir()
        with gzip.open(os.path.join(src, name + ".gz")) as f_in, open(target + ".part", "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
        got = sha256(target + ".part")
        if got != expected:
            os.remove(target + ".part")
            raise DataError(f"{name} from {src} has SHA-256 {got}, not the pinned {expected}: "
                            "that copy of FashionMNIST is not the original data set.")
        os.replace(target + ".part", target)
    return raw


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
    """Seed the root the homework's loading code uses when it runs in folder."""
    return seed(os.path.join(folder, NOTEBOOK_ROOT))


if __name__ == "__main__":
    try:
        print(seed(sys.argv[1] if len(sys.argv) > 1 else "."))
    except DataError as e:
        sys.exit(f"error: {e}")
