# The instructor's commands (README). Each one sets up what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ZIP := autograder/hw1-autograder.zip
# Debian packages: the real FashionMNIST, the student room's sandbox, `ip` for offline tests, and
# LaTeX (xelatex, pandoc) for the solutions PDF and grader.export(), poppler-utils to read PDFs in tests
SYSTEM_PACKAGES := dataset-fashion-mnist bubblewrap iproute2 pandoc texlive-xetex texlive-latex-extra \
	texlive-fonts-recommended texlive-plain-generic lmodern poppler-utils
# Debian packages that build the Gradescope image here (make gradescope-image), not needed otherwise
IMAGE_PACKAGES := mmdebstrap patchelf
IMAGE ?= build/gradescope-image
SUBMISSION ?=
OUT ?= graded

.PHONY: release test check grade regrade bench deps system image-tools gradescope-image test-gradescope gradescope-grade

release: deps
	$(PY) tools/build.py

test: deps
	$(PY) -m pytest -n 2 --dist loadgroup tests

# make check: the fast layer (no grade, about a minute): registries, points, the reference maths, the
# catalogue's verdicts in one process
check: deps
	$(PY) -m pytest -m fast -n 2 tests

# make grade SUBMISSION=path/to/notebook.ipynb [OUT=folder]: grade one submission with the built zip
grade: deps $(ZIP)
	@test -n "$(SUBMISSION)" || { echo "usage: make grade SUBMISSION=path/to/submission.ipynb"; exit 2; }
	mkdir -p $(OUT)
	$(PY) -m hw1grader.run --autograder $(ZIP) "$(SUBMISSION)" --out $(OUT)

# make regrade SUBMISSIONS=folder [OUT=regrade]: grade every submission of a folder (a Gradescope export) into a CSV
regrade: deps $(ZIP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make regrade SUBMISSIONS=path/to/folder"; exit 2; }
	$(PY) tools/regrade.py "$(SUBMISSIONS)" --out $(if $(filter graded,$(OUT)),regrade,$(OUT))

# make bench: what grading the reference costs, against running it plainly (figures for BENCHMARKS.md)
bench: deps $(ZIP)
	$(PY) tools/bench.py

# make gradescope-image [IMAGE=folder]: the zip's setup.sh, run as Gradescope runs it, in a fresh Debian root
# (downloads Debian's and PyPI's packages, as Gradescope's image build does)
gradescope-image: deps image-tools $(ZIP)
	$(PY) tools/gradescope_image.py --zip $(ZIP) --out $(IMAGE)

# make test-gradescope: build that image, then grade in it as Gradescope does (tests/test_gradescope_run.py)
test-gradescope: gradescope-image
	HW1_GRADESCOPE_IMAGE=$(abspath $(IMAGE)) $(PY) -m pytest -n 2 --dist loadgroup tests/test_gradescope_run.py

# make gradescope-grade SUBMISSION=path [IMAGE=folder]: grade one upload in that image, as Gradescope would
gradescope-grade: deps $(ZIP)
	@test -n "$(SUBMISSION)" || { echo "usage: make gradescope-grade SUBMISSION=path/to/submission.ipynb"; exit 2; }
	$(PY) tools/gradescope_run.py $(ZIP) "$(SUBMISSION)" --results $(OUT) $(if $(wildcard $(IMAGE)/.hw1-image.json),--image $(IMAGE))

$(ZIP): assignment/hw1.ipynb autograder/run_otter.py autograder/run_autograder autograder/setup.sh autograder/requirements.txt $(shell find autograder/hw1grader -name '*.py') | deps
	$(PY) tools/build.py --zip-only

deps: $(VENV)/.installed system

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	# hw1grader (the otter plugin) importable from the venv, as it is from the zip on Gradescope
	echo "$(CURDIR)/autograder" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/hw1grader.pth"
	touch $@

system:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES); }

image-tools:
	@dpkg -s $(IMAGE_PACKAGES) >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends $(IMAGE_PACKAGES); }
