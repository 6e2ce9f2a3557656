# Marketing lakehouse. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT ?= lakehouse
CUSTOMERS ?= 5000
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONUNBUFFERED := 1
# Python keeps each module it compiles (.pyc) for the next process; an environment that turns that off
# (PYTHONDONTWRITEBYTECODE) makes every job, test process and attempt compile its ~3,000 modules again.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help install demo demo-grocery backtest bench serve app loadtest cluster-up cluster-down test test-cluster test-faults test-sql-server test-slow test-fast lint sql sql-server sql-loadtest mlflow-ui clean evaluate-crm import-crm tables

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/lakehouse: pyproject.toml
	@echo "Installing into $(VENV) (first run only: ~1 minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	@touch $@

install: $(BIN)/lakehouse ## create .venv and install the project with its pinned dependencies

demo: $(BIN)/lakehouse ## generate sample data (if none) and run every stage into ./lakehouse, then print a summary
	$(BIN)/lakehouse demo --root $(ROOT) --customers $(CUSTOMERS)

demo-grocery: $(BIN)/lakehouse ## the same pipeline on a grocery retailer's shape (lakehouse.grocery.toml) into ./lakehouse-grocery
	$(BIN)/lakehouse demo --config lakehouse.grocery.toml

backtest: $(BIN)/lakehouse ## would the model have helped on the last 3 campaigns? (after make demo; CONFIG=lakehouse.grocery.toml for that one)
	$(BIN)/lakehouse backtest $(if $(CONFIG),--config $(CONFIG),--root $(ROOT)) --as-of 2026-06-30

bench: $(BIN)/lakehouse ## every stage's time and memory at CUSTOMERS customers, against DuckDB (same features, checked): make bench CUSTOMERS=100000 [FLOOR=1]
	$(BIN)/lakehouse bench --customers $(CUSTOMERS) --days-new $(or $(DAYS),1) $(if $(FLOOR),--floor)

serve: $(BIN)/lakehouse ## the scoring API on http://127.0.0.1:8000 (after make demo): /predict, /customers/{id}, /health, /docs
	$(BIN)/lakehouse serve --root $(ROOT)

app: $(BIN)/lakehouse ## the marketers' app on http://127.0.0.1:8501 (after make demo): segments, targets, what-if, model
	$(BIN)/lakehouse app --root $(ROOT)

loadtest: $(BIN)/lakehouse ## 500 simulated users for 60 s against lakehouse serve on 127.0.0.1 (after make demo)
	$(BIN)/lakehouse loadtest --root $(ROOT) --users $(or $(USERS),500) --seconds $(or $(SECONDS),60)

cluster-up: $(BIN)/lakehouse ## start a Spark standalone cluster (a master, two workers) on 127.0.0.1; logs under ./lakehouse/cluster
	$(BIN)/lakehouse cluster up --root $(ROOT)

cluster-down: $(BIN)/lakehouse ## stop the cluster make cluster-up started
	$(BIN)/lakehouse cluster down --root $(ROOT)

# the app's browser tests drive Debian's headless Chromium through its driver (nothing downloaded at test time)
CHROMEDRIVER := /usr/bin/chromedriver
$(CHROMEDRIVER):
	@echo "Installing Debian's chromium and chromium-driver for the app's browser tests"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

test: $(BIN)/lakehouse $(CHROMEDRIVER) ## run the test suite (unit tests, then end to end, the app in a browser)
	$(BIN)/python -m pytest --durations=15

test-cluster: $(BIN)/lakehouse ## start a Spark standalone cluster, run the pipeline on it, compare with local mode
	$(BIN)/python -m pytest -m cluster

test-faults: $(BIN)/lakehouse ## kill runs at 4 failpoints and 16 random moments on one lakehouse, every attempt killed or succeeded; compare every table with an uninterrupted run; 20 bad inputs
	$(BIN)/python -m pytest -m faults -s -p no:cacheprovider

test-sql-server: $(BIN)/lakehouse ## the SQL endpoint over JDBC: views as `lakehouse sql` answers, 8 clients during a run, every write refused
	$(BIN)/python -m pytest -m sqlserver

test-slow: $(BIN)/lakehouse ## test-faults, test-cluster and test-sql-server in one session, on one reference run (what CI runs after make test)
	$(BIN)/python -m pytest -m "faults or cluster or sqlserver" -s -p no:cacheprovider

test-fast: $(BIN)/lakehouse ## run the unit tests (no whole runs)
	$(BIN)/python -m pytest -m "not e2e and not cluster and not faults and not sqlserver"

lint: $(BIN)/lakehouse ## ruff over the code, mypy over the framework and the declarations
	$(BIN)/ruff check pipelines bronze silver gold ops sample jobs commands apps tests
	$(BIN)/ruff format --check pipelines bronze silver gold ops sample jobs commands apps tests
	$(BIN)/mypy

sql: $(BIN)/lakehouse ## SQL shell on the lakehouse's catalog; or one query: make sql Q="SELECT * FROM gold.segment_summary"
	$(BIN)/lakehouse sql --root $(ROOT) $(if $(Q),"$(Q)")

sql-server: $(BIN)/lakehouse ## JDBC/ODBC endpoint for BI tools on jdbc:hive2://127.0.0.1:10000/default (read-only; after make demo)
	$(BIN)/lakehouse sql-server --root $(ROOT) $(if $(PORT),--port $(PORT))

sql-loadtest: $(BIN)/lakehouse ## 8 JDBC clients on the gold views for 60 s through a sql-server it starts: one JSON line (after make demo)
	$(BIN)/lakehouse sql-loadtest --root $(ROOT) --clients $(or $(CLIENTS),8) --seconds $(or $(SECONDS),60) --result-cache-mb $(or $(CACHE_MB),64)

tables: $(BIN)/lakehouse ## print the declared tables (layer, grain, key, inputs, write mode, checks)
	$(BIN)/lakehouse tables

mlflow-ui: $(BIN)/lakehouse ## open the MLflow UI on the lakehouse's tracking store (http://127.0.0.1:5000)
	$(BIN)/mlflow ui --backend-store-uri "sqlite:///$(abspath $(ROOT))/mlflow/mlflow.db" --host 127.0.0.1 --port 5000

clean: ## remove the demo lakehouses (./lakehouse, -crm, -grocery, -bench); keeps .venv
	rm -rf $(ROOT) $(ROOT)-crm $(ROOT)-grocery $(ROOT)-bench spark-warehouse metastore_db derby.log

evaluate-crm: $(BIN)/lakehouse ## cross-validate the acceptance model on the public CRM case: make evaluate-crm CRM=path/to/ml_project1_data.csv
	@test -n "$(CRM)" || { echo "usage: make evaluate-crm CRM=path/to/ml_project1_data.csv (or marketing_campaign.csv)"; exit 2; }
	$(BIN)/lakehouse evaluate-crm --root $(ROOT)-crm "$(CRM)"

import-crm: $(BIN)/lakehouse ## import the public CRM case into ./lakehouse-crm, train and score: make import-crm CRM=path
	@test -n "$(CRM)" || { echo "usage: make import-crm CRM=path/to/marketing_campaign.csv"; exit 2; }
	$(BIN)/lakehouse import-crm --root $(ROOT)-crm "$(CRM)"
