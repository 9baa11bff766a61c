# The web console: docker build -f deploy/console.Dockerfile -t casework/web-console .
# The NHS.UK design system's assets come from npm (the committed package-lock.json), the Python side from
# the workspace lock file, as in the embedded run.
FROM node:20-slim AS assets
WORKDIR /assets
COPY services/web-console/package.json services/web-console/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY services services
COPY deploy/embedded-stack deploy/embedded-stack
RUN uv sync --frozen --no-dev --no-editable --package web-console

FROM python:3.11-slim
RUN useradd --system --uid 10001 casework
COPY --from=build /app/.venv /app/.venv
COPY --from=assets /assets/node_modules /app/node_modules
ENV PATH=/app/.venv/bin:$PATH HOST=0.0.0.0 ASSETS_DIR=/app/node_modules
USER casework
# The container serves; its migration (the sessions table) is a step of its own: a Job in Kubernetes
# (deploy/kubernetes), run before serving in docker-compose.
CMD ["web-console", "serve"]
