# The two set-up commands of the README: `make demo` and `make test`. Both install first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install browser demo test bench bench-cases evaluate repro

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"

demo: install
	$(VENV)/bin/earlywarn demo --serve

test: install browser
	$(PY) -m pytest

# The browser tests drive Debian's chromium; they are skipped, loudly, where it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null 2>&1 \
	  || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) \
	  || echo "WARNING: chromium could not be installed: the browser tests will be skipped"

evaluate: install
	$(VENV)/bin/earlywarn evaluate --model fast

bench: install
	$(VENV)/bin/earlywarn bench scoring

bench-cases: install
	$(VENV)/bin/earlywarn bench cases --workers 2
	$(VENV)/bin/earlywarn bench security

# DVC stages (dvc.yaml) call `earlywarn`, so the virtual environment goes first on PATH.
repro: install
	PATH="$(abspath $(VENV))/bin:$$PATH" DVC_NO_ANALYTICS=1 $(VENV)/bin/dvc repro
