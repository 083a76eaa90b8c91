# The two commands of the README: `make run` and `make test`. Everything else is reachable from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= auto

.PHONY: install run serve test lint bench bench-full soak migrate demo clean translations

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "homewatch needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtual environment. On Debian: apt-get install -y python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/homewatch migrate

demo: migrate
	$(BIN)/homewatch demo --if-empty --quiet

run: demo
	$(BIN)/homewatch serve --host $(HOST) --port $(PORT) --print-demo-links

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

bench: install
	$(BIN)/python -m bench.roster --sizes 2000,10000
	$(BIN)/python -m bench.boundary --size 10000 --seconds 5
	$(BIN)/python -m bench.events --clients 200 --readings 10
	$(BIN)/python bench/checkins.py --quick --targets floor,app

bench-full: install
	$(BIN)/python -m bench.roster --sizes 10000,100000,1000000

# Kills the app and crashes a private PostgreSQL (needs its server binaries) while clients post readings;
# fails unless every acknowledged reading is stored exactly once. The full run: python -m bench.soak
soak: install
	$(BIN)/python -m bench.soak --duration 40 --clients 4 --people 2

# Pages and API errors are translated from web/translations/<locale>/LC_MESSAGES/messages.po (compiled in
# memory at start-up). This refreshes the catalogues after texts changed; then fill in the new msgstr lines.
MESSAGE_KEYWORDS := -k _ -k NotFound -k Forbidden -k Unauthorized -k Conflict -k Invalid -k InvalidInput -k TooManyRequests \
	-k InvalidCredentials -k CsrfRefused -k MediaBusy -k AppError -k Unavailable -k LinkClosed -k Duplicate -k PayloadTooLarge -k EndpointRefused
translations: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header $(MESSAGE_KEYWORDS) \
		-o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -D messages -w 120 \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
