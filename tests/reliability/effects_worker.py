"""Runs the effects consumer in its own process until killed (for the SIGKILL test).

Usage: python effects_worker.py DATABASE_URL BOOTSTRAP GROUP
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from effects_service import effects_definition

from casework.inbox import EventConsumer
from casework.runtime import ServiceRuntime
from casework.settings import ServiceSettings


async def main(database_url: str, bootstrap: str, group: str) -> None:
    settings = ServiceSettings(
        service_name="effects",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        kafka_fetch_max_wait_ms=10,
        kafka_enable_idempotence=False,
        log_level="WARNING",
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=300,
        kafka_rebalance_timeout_ms=1000,
    )
    runtime = ServiceRuntime(effects_definition(), settings)
    consumer = EventConsumer(runtime, runtime.definition.handlers, consumer_name=group)
    await consumer.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
