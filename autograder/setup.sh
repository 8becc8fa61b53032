#!/usr/bin/env bash
# Gradescope runs this once, with network, to build the grading image. Grading itself needs no network.
# What it installs (README, "Gradescope"): bubblewrap (the student room's sandbox), the real FashionMNIST
# from this zip, Python 3.11.7 in /opt/hw1-venv, and requirements.txt (CPU-only torch). No conda,
# no browser, no LaTeX: PDFs are not made on Gradescope.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends bubblewrap ca-certificates python3-pip

# the four original FashionMNIST files, where Debian's dataset-fashion-mnist puts them
mkdir -p /usr/share/datasets/fashion-mnist
cp /autograder/source/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/

# Python 3.11.7, the version the package is tested with
python3 -m pip install uv==0.13.9
# outside /root (0700), so that the student room can run it as a user of its own (sandbox mode uid)
export UV_PYTHON_INSTALL_DIR=/opt/uv-python
uv python install 3.11.7
uv venv --python 3.11.7 /opt/hw1-venv
uv pip install --python /opt/hw1-venv/bin/python --index-strategy unsafe-best-match \
    -r /autograder/source/requirements.txt

# check the data now, so that a bad copy fails the image build rather than every grade
/opt/hw1-venv/bin/python -c "import sys; sys.path.insert(0, '/autograder/source'); from hw1grader import fmnist; fmnist.load_test_set()"
