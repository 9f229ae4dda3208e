# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Stamps re-run the install when a pyproject.toml changes. `run` installs the product only (what
# the door device carries); `test` adds facegate-bench (./bench: `facegate eval`, `facegate bench`).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e ".[demo]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml bench/pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]' -e ./bench
	touch $(VENV)/.installed $@

# The management server with its SQLite database and the default entrance's runtime:
# http://127.0.0.1:8000 ($FACEGATE_PORT to change); FACEGATE_ADMIN_USER / FACEGATE_ADMIN_PASSWORD
# choose the first admin (else a password is printed once).
run: $(VENV)/.installed
	$(VENV)/bin/facegate serve

# pytest's testpaths (pyproject.toml): tests/ and bench/tests/
test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
