# The Makefile only bootstraps the virtual environment; the real work lives
# in tasks.py (invoke). Every target creates .venv on a fresh machine first.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
INVOKE := $(VENV)/bin/invoke

.PHONY: serve build publish test lint clean bench check

# Reinstall whenever the pinned requirements change.
$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

serve: $(STAMP)
	$(INVOKE) serve

build: $(STAMP)
	$(INVOKE) build

publish: $(STAMP)
	$(INVOKE) publish

test: $(STAMP)
	$(INVOKE) test

lint: $(STAMP)
	$(INVOKE) lint

check: $(STAMP)
	$(INVOKE) check

bench: $(STAMP)
	$(INVOKE) bench

clean: $(STAMP)
	$(INVOKE) clean
