# Two commands a newcomer needs: `make up` (run the whole platform) and `make test`.
# Everything is installed from the project's own files: uv is bootstrapped into .local/tooling.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLING := .local/tooling
UV := $(TOOLING)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

.PHONY: up down status demo test lint format sync clean token migration

$(UV):
	python3 -m venv $(TOOLING)
	$(TOOLING)/bin/pip install --quiet "uv==$(UV_VERSION)"

sync: $(UV)
	$(UV) sync --frozen --all-packages

up: sync
	$(UV) run --frozen embedded-stack up

down: $(UV)
	$(UV) run --frozen embedded-stack down

status: $(UV)
	$(UV) run --frozen embedded-stack status

# Demo data through the public APIs of a running stack (`make up` in another terminal first).
demo: $(UV)
	$(UV) run --frozen embedded-stack demo

test: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen pytest

lint: sync
	$(UV) run --frozen ruff check .

format: sync
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .


clean:
	rm -rf .venv $(TOOLING)

# make token ORG=RRV ROLES="clinician trust_cdf_lead"
token: $(UV)
	@$(UV) run --frozen embedded-stack token --org $(ORG) $(foreach r,$(ROLES),--role $(r))

# make migration SERVICE=cdf MESSAGE="add sact tables"
migration: sync
	$(UV) run --frozen embedded-stack revision $(SERVICE) -m "$(MESSAGE)"
