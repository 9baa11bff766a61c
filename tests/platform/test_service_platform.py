"""Every service: health, metrics, AsyncAPI, OpenAPI, and migrations that match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from casework.services import SERVICE_NAMES, load_definition
from embedded_stack.testing import TestStack


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_platform_routes(stack: TestStack, name: str) -> None:
    async with stack.service(name) as svc:
        assert (await svc.client.get("/health/live")).json() == {"status": "ok"}
        ready = await svc.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        metrics = await svc.client.get("/metrics")
        assert "casework_outbox_backlog" in metrics.text and "casework_http_requests_total" in metrics.text
        asyncapi = (await svc.client.get("/asyncapi.json")).json()
        assert asyncapi["asyncapi"].startswith("3.")
        sends = {
            op["messages"][0]["$ref"].rsplit("/", 1)[1]
            for op in asyncapi["operations"].values()
            if op["action"] == "send"
        }
        assert sends == {t.replace(".", "_") for t in svc.runtime.definition.publishes}
        openapi = (await svc.client.get("/openapi.json")).json()
        assert "/health/ready" in openapi["paths"]
        correlation = await svc.client.get("/health/live", headers={"X-Correlation-ID": "abc-123"})
        assert correlation.headers["x-correlation-id"] == "abc-123"
        assert len(correlation.headers.get_list("x-correlation-id")) == 1
        fresh = await svc.client.get("/health/live")
        assert len(fresh.headers["x-correlation-id"]) == 36  # a new uuid when the caller sent none
        missing = await svc.client.get("/no-such-path")
        assert missing.status_code == 404 and missing.headers["x-correlation-id"]
        counted = (await svc.client.get("/metrics")).text
        service = svc.runtime.settings.service_name
        assert (
            f'casework_http_requests_total{{method="GET",route="/health/live",service="{service}",status="200"}}'
            in counted
        )
        assert f'route="unmatched",service="{service}",status="404"' in counted


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_migrations_match_models(stack: TestStack, name: str) -> None:
    definition = load_definition(name)
    async with stack.service(name, run_workers=False) as svc:
        async with svc.runtime.engine.connect() as conn:
            version_table = f"alembic_version_{name}"
            assert (await conn.execute(text(f"SELECT count(*) FROM {version_table}"))).scalar() == 1

            def diff(sync_conn):
                changes = compare_metadata(MigrationContext.configure(sync_conn), definition.metadata)
                return [c for c in changes if not (c[0] == "remove_table" and c[1].name == version_table)]

            assert await conn.run_sync(diff) == []
            trigger = await conn.execute(
                text("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_events_append_only'")
            )
            assert trigger.scalar() == 1


async def test_console_migrations_match_its_model(stack: TestStack) -> None:
    from casework.db import create_engine
    from web_console.database import CONSOLE_DATABASE

    url = stack.migrate(CONSOLE_DATABASE, "console_migrations")
    engine = create_engine(url, 1)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):  # type: ignore[no-untyped-def]
                changes = compare_metadata(MigrationContext.configure(sync_conn), CONSOLE_DATABASE.metadata)
                return [c for c in changes if not (c[0] == "remove_table" and c[1].name == "alembic_version_console")]

            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_wait_for_migrations_holds_a_pod_until_the_database_is_at_head(stack: TestStack) -> None:
    """What each Deployment's init container runs (deploy/kubernetes): it waits while the database is
    missing or behind the code, and lets the pod start once the migration job has run."""
    from casework.migrations import ensure_database, head_revisions, wait_until_migrated

    definition = load_definition("notification")
    url = stack.database_url("wait_for_migrations")
    heads = head_revisions(definition)
    assert len(heads) == 1  # one head per service
    assert await wait_until_migrated(definition, url, timeout_s=0.3, poll_s=0.1) == heads  # no database yet
    await ensure_database(url)
    assert await wait_until_migrated(definition, url, timeout_s=0.3, poll_s=0.1) == heads  # no version table
    stack.migrate(definition, "wait_for_migrations")
    assert await wait_until_migrated(definition, url, timeout_s=5, poll_s=0.1) == set()
