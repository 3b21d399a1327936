# The two front doors: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5000
# The access log leaves out query strings, as defence in depth: the staff search reaches
# addresses only sealed (questionnaire.clinic.sealing).
ACCESS_LOG := %(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms

.PHONY: help install run test lint bench check-rules lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test tools

run: $(STAMP)  ## set up SQLite and the demo clinic, then serve on 127.0.0.1:$(PORT)
	$(BIN)/questionnaire check-rules
	SECURE_COOKIES=$${SECURE_COOKIES:-0} $(BIN)/questionnaire init-db
	SECURE_COOKIES=$${SECURE_COOKIES:-0} $(BIN)/questionnaire demo
	SECURE_COOKIES=$${SECURE_COOKIES:-0} $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) \
		--config deploy/gunicorn.conf.py --workers 4 --threads 2 --worker-class gthread \
		--worker-connections 4 --access-logfile - --access-logformat '$(ACCESS_LOG)' \
		'questionnaire.wsgi:app'

test: $(STAMP)  ## run the whole suite (browser, PostgreSQL and Redis tests included)
	$(BIN)/ruff check questionnaire tests benchmarks deploy
	$(BIN)/ruff format --check questionnaire tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/bandit -q --severity-level medium -c pyproject.toml -r questionnaire
	$(BIN)/questionnaire check-rules
	$(BIN)/pytest

lint: $(STAMP)  ## ruff, mypy and bandit only
	$(BIN)/ruff check questionnaire tests benchmarks deploy
	$(BIN)/ruff format --check questionnaire tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/bandit -q --severity-level medium -c pyproject.toml -r questionnaire

check-rules: $(STAMP)  ## check the rule files in rules/
	$(BIN)/questionnaire check-rules

bench: $(STAMP)  ## run every benchmark and print its figures
	$(BIN)/python benchmarks/rules_bench.py
	$(BIN)/python benchmarks/web_bench.py
	$(BIN)/python benchmarks/dashboard_bench.py
	$(BIN)/python benchmarks/send_bench.py

lock: $(STAMP)  ## pin every dependency in constraints.txt again (UPGRADE=1: newest allowed)
	$(BIN)/pip-compile --quiet --strip-extras --extra test --no-emit-index-url \
		--no-emit-find-links $(if $(UPGRADE),--upgrade) --output-file constraints.txt pyproject.toml

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
