# The two commands: `make run` and `make test`. Both set up .venv on their own: `run` with what
# Solo needs to run, `test` (and `bench`) with the test tools as well (ruff, mypy, playwright…),
# which a server such as a Raspberry Pi neither needs nor can always install.
# Any Python from 3.11 on: the first of python3.13, python3.12, python3.11 and python3 that runs
# and is new enough, or the one named with PYTHON=/path/to/python.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for candidate in python3.13 python3.12 python3.11 python3; do \
	$$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { command -v $$candidate; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed
TESTING := $(VENV)/.installed-test

.PHONY: run test lint bench clean messages

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Solo needs Python 3.11 or newer, and none of python3.13, python3.12, python3.11 or python3 is (install one, or say PYTHON=/path/to/python)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "Solo needs Python 3.11 or newer: $(PYTHON) is $$($(PYTHON) --version 2>&1 | head -n 1)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TESTING): pyproject.toml $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: $(RUNTIME)
	@test -f data/solo.db || $(BIN)/solo init
	$(BIN)/solo serve

test: $(TESTING)
	$(BIN)/ruff check solo tests bench
	$(BIN)/ruff format --check solo tests bench
	$(BIN)/mypy solo
	$(BIN)/pytest

bench: $(TESTING)
	$(BIN)/python -m bench

# After changing a user-facing string: the template of every message, and each language's
# catalogue brought up to date with it (new strings untranslated, changed ones marked fuzzy).
messages: $(TESTING)
	$(BIN)/pybabel extract --project Solo --copyright-holder "the Solo authors" --no-location --sort-output -F babel.cfg -k ngettext:1,2 -k counted:1,2 -k Message -k N_ -k flash:2 \
		-k ActionError -k WrongPassword -k MediaRefused -k ArchiveError -k BlocklistError -k CsvError \
		-k NotFound -k BadRequest -k Forbidden -k BadSubscription -k AddressRefused -k BadKey -k InvalidDomain -k InvalidTag -o solo/locale/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete --no-wrap -i solo/locale/messages.pot -d solo/locale

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
