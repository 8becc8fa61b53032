# The instructor's commands (README). Each one sets up what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ZIP := autograder/hw1-autograder.zip
# Debian packages: the real FashionMNIST, the student room's sandbox, `ip` for offline tests, and
# LaTeX (xelatex, pandoc) for the solutions PDF and grader.export(), poppler-utils to read PDFs in tests
SYSTEM_PACKAGES := dataset-fashion-mnist bubblewrap iproute2 pandoc texlive-xetex texlive-latex-extra \
	texlive-fonts-recommended texlive-plain-generic lmodern poppler-utils
SUBMISSION ?=
OUT ?= graded

.PHONY: release test check grade regrade bench deps system

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
