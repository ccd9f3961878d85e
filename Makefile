# The README's two commands: `make demo` and `make test`. Everything else is set up on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "civicnode needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/civicnode demo

test: $(STAMP)
	scripts/test-setup
	# -u: CI shows every result as it comes, so a stopped run shows where it stopped.
	$(PY) -u -m pytest

bench: $(STAMP)
	$(PY) tests/bench/run.py

messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k N_ -k user_error:2 --add-comments=Translators: \
		--no-location --sort-output --project=civicnode -o node/locale/messages.pot .
	@set -e; langs="$$($(PY) -c 'from node.config import LOCALES; print(*LOCALES)')"; \
	for lang in $$langs; do \
		if [ -f node/locale/$$lang/LC_MESSAGES/messages.po ]; then \
			$(VENV)/bin/pybabel update -i node/locale/messages.pot -d node/locale -l $$lang \
				--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date; \
		else \
			$(VENV)/bin/pybabel init -i node/locale/messages.pot -d node/locale -l $$lang; \
		fi; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache
