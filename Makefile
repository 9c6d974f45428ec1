# The two commands the README promises: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 3

.PHONY: demo test venv services lint screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt scripts/bootstrap.sh
	scripts/bootstrap.sh $(VENV)
	touch $@

venv: $(VENV)/.installed

services:
	scripts/services.sh

lint: venv
	$(VENV)/bin/ruff check .

test: venv services lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: venv
	$(PY) scripts/demo.py

# Refresh the screenshots the README shows (the browser tests write them only when asked).
screenshots: venv services
	DMS_SCREENSHOTS=1 $(VENV)/bin/pytest -m browser $(PYTEST_ARGS)
