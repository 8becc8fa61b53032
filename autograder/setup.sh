#!/usr/bin/env bash
# Gradescope runs this once, as root, with network, to build the grading image (Ubuntu). Grading itself
# needs no network. What it installs (README, "Gradescope"): bubblewrap (the student room's sandbox), the
# real FashionMNIST from this zip, Python 3.11.7 in /opt/hw1-venv, and requirements.txt (CPU-only torch).
# No conda, no browser, no LaTeX: PDFs are not made on Gradescope. Any error stops it (and so fails the
# image build); its last step checks the result.
#
# Two steps need the open internet. These variables point them elsewhere (the tests build this image on a
# machine that reaches only PyPI and Debian); unset, as on Gradescope, they mean what is said here:
#   HW1_PYTHON_DOWNLOADS  uv's list of Python builds, a JSON file or URL (default: uv's own list, which
#                         downloads python-build-standalone from GitHub)
#   HW1_TORCH_INDEX       the package index of torch and torchvision (default: PyTorch's CPU wheels,
#                         https://download.pytorch.org/whl/cpu, the index requirements.txt names)
#   HW1_TORCH_BUILD       the local version label of the torch and torchvision pins (default: +cpu; set it
#                         empty where that index holds only the plain build)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
TORCH_INDEX=https://download.pytorch.org/whl/cpu

apt-get update
apt-get install -y --no-install-recommends bubblewrap ca-certificates python3-pip

# the four original FashionMNIST files, where Debian's dataset-fashion-mnist puts them
mkdir -p /usr/share/datasets/fashion-mnist
cp "$SOURCE"/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/

# uv, in a folder of its own: where the system's Python is marked externally managed (PEP 668, as on
# Ubuntu 24.04), pip refuses to install into it, but not into a --target
python3 -m pip install --target /opt/uv uv==0.13.9
uv=/opt/uv/bin/uv

# Python 3.11.7, the version the package is tested with; outside /root (0700), so that the student room
# can run it as a user of its own (sandbox mode uid)
export UV_PYTHON_INSTALL_DIR=/opt/uv-python
"$uv" python install --no-bin ${HW1_PYTHON_DOWNLOADS:+--python-downloads-json-url "$HW1_PYTHON_DOWNLOADS"} 3.11.7
"$uv" venv --clear --python 3.11.7 --no-python-downloads /opt/hw1-venv

# requirements.txt, with torch's index and build as the variables above say (unchanged by default)
requirements=$(mktemp)
sed -e "s|^--extra-index-url $TORCH_INDEX\$|--extra-index-url ${HW1_TORCH_INDEX:-$TORCH_INDEX}|" \
    -e "s|^\(torch[a-z]*==[^+]*\)+cpu\$|\1${HW1_TORCH_BUILD-+cpu}|" "$SOURCE/requirements.txt" > "$requirements"
grep -qx -- "--extra-index-url ${HW1_TORCH_INDEX:-$TORCH_INDEX}" "$requirements" \
    || { echo "setup.sh: requirements.txt does not name $TORCH_INDEX: update setup.sh with it" >&2; exit 1; }
"$uv" pip install --python /opt/hw1-venv/bin/python --index-strategy unsafe-best-match -r "$requirements"

# The check. As a user other than root, as the student room runs in sandbox mode uid: the venv's Python
# is 3.11.7 and every pin of requirements.txt is installed at its version and imports.
check_home=$(mktemp -d)
chown 65534:65534 "$check_home"
command -v bwrap
# shellcheck disable=SC2046
setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i HOME="$check_home" MPLCONFIGDIR="$check_home" \
    /opt/hw1-venv/bin/python - $(grep -E '^[A-Za-z0-9_.-]+==' "$requirements") <<'EOF'
import importlib, importlib.metadata as metadata, sys
assert sys.version_info[:3] == (3, 11, 7), f"the venv runs Python {sys.version.split()[0]}, not 3.11.7"
modules = {}
for module, dists in metadata.packages_distributions().items():
    for dist in dists:
        modules.setdefault(dist.lower().replace("_", "-"), []).append(module)
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    installed = metadata.version(name)
    assert installed == version, f"{name} {installed} is installed, not {version}"
    for module in modules.get(name.lower().replace("_", "-"), []):
        if not module.startswith("_") and module.isidentifier():
            importlib.import_module(module)
    print(f"ok: {name} {installed}")
EOF
rm -rf "$check_home" "$requirements"
# the data, so that a bad copy fails the image build rather than every grade
/opt/hw1-venv/bin/python -c "import sys; sys.path.insert(0, '$SOURCE'); from hw1grader import fmnist; fmnist.load_test_set()"
# matplotlib's list of the image's fonts, in root's cache: every grade's room starts with a copy of it
# (sandbox.font_lists) instead of spending a second listing them again
/opt/hw1-venv/bin/python -c "import matplotlib.font_manager"
echo "setup.sh: the image is ready"
