# The newcomer's commands: `make run` serves the API on embedded parts (and runs
# the report worker beside it),
# `make test` runs the lint and the tests exactly as CI does.

FILMS ?= 20000
VENV ?= .venv
SYSTEM_PYTHON ?= $(shell command -v python3.11 || command -v python3)
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# Prints the database the app uses: DATABASE_PATH, or its default under var/.
PRINT_DB_PATH := $(BIN)/python -c \
	'from catalogue.config import from_environment as env; print(env()["DATABASE_PATH"])'

.PHONY: run test venv

venv:
	@test -x $(BIN)/python || $(SYSTEM_PYTHON) -m venv $(VENV)

run: venv
	$(BIN)/pip install -q -r requirements.txt -r requirements-datagen.txt
	@db_path="$$($(PRINT_DB_PATH))" || exit 1; \
	if [ -f "$$db_path" ]; then \
		echo "Using the existing database $$db_path"; \
	else \
		mkdir -p "$$(dirname "$$db_path")"; \
		echo "$(FLASK) data generate --films $(FILMS)"; \
		$(FLASK) data generate --films $(FILMS); \
	fi
	$(FLASK) db upgrade
	$(FLASK) etl run
	@# The report worker runs beside the server and stops with it (Ctrl-C).
	@$(FLASK) reports worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	echo "$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app (report worker: pid $$worker)"; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: venv
	$(BIN)/pip install -q -r requirements-dev.txt
	scripts/install-test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
