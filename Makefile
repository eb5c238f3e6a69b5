# The Makefile only bootstraps; the real work lives in tasks.py (invoke).
# Every target but clean creates .venv on a fresh machine first, and `make test`
# also installs the system programs the tests need (scripts/system-packages.sh).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
INVOKE := $(VENV)/bin/invoke

.PHONY: serve build publish test lint clean bench check system-packages

# Reinstall whenever the pinned requirements (the lock) or the project change: first
# every pinned dependency, then the project itself in editable mode, so its packages
# (plugins, endpoint, webforms, devserver, bench) and settings files import by name.
$(STAMP): requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Chromium, PostgreSQL's server programs, Java and Node.js, only for the tests; silent
# when they are all there. Listed first so a missing one stops before pip runs.
system-packages:
	@sh scripts/system-packages.sh

serve: $(STAMP)
	$(INVOKE) serve

build: $(STAMP)
	$(INVOKE) build

publish: $(STAMP)
	$(INVOKE) publish

# Lighthouse for the audit test, from the npm lock; again whenever the lock changes.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

test: system-packages $(STAMP) node_modules/.installed
	$(INVOKE) test

lint: $(STAMP)
	$(INVOKE) lint

check: $(STAMP)
	$(INVOKE) check

bench: $(STAMP)
	$(INVOKE) bench

# What `invoke clean` removes, without creating .venv or installing anything.
clean:
	rm -rf output public cache
