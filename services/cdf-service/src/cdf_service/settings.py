"""Settings of the CDF service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from casework.settings import ServiceSettings


class CdfSettings(ServiceSettings):
    service_name: str = "cdf"
    port: int = 8002
    public_base_url: str = "http://127.0.0.1:8002"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/cdf"

    clinician_email_domains: list[str] = Field(
        default_factory=lambda: ["nhs.net"], description="Mail domains a registered clinician's address may use"
    )
    list_cache_ttl_s: float = Field(
        2.0, description="How long a process may use its copy of the national list before reloading; 0: always read"
    )
    lapse_sweep_interval_s: float = Field(
        3600.0, description="How often approvals past their lapse window are lapsed; 0 turns the sweep off"
    )
    early_start_days: int = Field(
        28, description="A first administration up to this many days before the planned start still counts"
    )
    sact_chunk_bytes: int = Field(
        4 * 1024 * 1024, description="Size of the pieces an uploaded SACT file is stored and processed in"
    )
    sact_validation_processes: int = Field(
        2, description="Processes that parse and validate pieces of a large SACT file side by side; 0: a thread"
    )
    sact_workers: int = Field(4, description="SACT submissions one process works on at the same time")
    sact_inline_max_bytes: int = Field(
        256 * 1024,
        description="A SACT upload of at most this size (one piece) is processed in one transaction, "
        "validated in the worker itself",
    )
    sact_batch_max: int = Field(
        20,
        ge=1,
        description="Most small SACT submissions of one trust, waiting together, processed in one transaction",
    )
    sact_json_max_records: int = Field(50_000, description="Most records a JSON SACT batch may carry")
    sact_upload_max_bytes: int = Field(
        2 * 1024**3, description="Largest SACT CSV upload (streamed in pieces; a million rows are about 253 MB)"
    )
    sact_json_max_bytes: int = Field(
        128 * 1024**2, description="Largest JSON SACT batch (read whole before it is checked)"
    )
    list_import_max_bytes: int = Field(10 * 1024**2, description="Largest national list file for POST /cdf/list/import")
    sact_poll_interval_s: float = Field(
        1.0,
        description="How often the SACT worker looks for submissions stored by other replicas "
        "(an upload to this process wakes it at once)",
    )
    sact_stale_after_s: float = Field(
        300.0, description="A submission whose worker has been silent this long is taken over by another"
    )
    database_idle_in_transaction_timeout_s: float = Field(
        300.0,
        gt=0,
        description="PostgreSQL ends a transaction left waiting on this process this long, and frees its locks; "
        "at most SACT_STALE_AFTER_S (unset: equal to it)",
    )
    forecast_interval_s: float = Field(
        5.0,
        description="How often the forecaster looks for changed trust x entry pairs marked by other replicas "
        "(this process's own changes wake it at once)",
    )
    forecast_round_gap_s: float = Field(
        0.5,
        description="Least time from the start of one forecaster round to the next: changes committed meanwhile "
        "share the next round (a round costs about the same few statements for 1 pair or 100)",
    )
    forecast_min_history: int = Field(
        20, description="Fewest treatments for a Kaplan-Meier curve (else expected duration)"
    )
    forecast_default_start_rate: float = Field(0.9, description="Share of approvals expected to start, with no history")
    forecast_basis_max_age_s: float = Field(
        300.0,
        description="Longest an entry's forecast basis (curve, start share, rates) and the national figures are "
        "kept between forecaster rounds; 0 rebuilds them every round",
    )
    forecast_basis_refresh_share: float = Field(
        0.05,
        description="An entry's basis is rebuilt from its whole history once its pairs have been recomputed this "
        "share of its applications times (at least once)",
    )
    completeness_expectation: Decimal = Field(
        Decimal("0.90"), description="National SACT completeness expectation (share of approvals with SACT activity)"
    )

    @model_validator(mode="after")
    def _locks_end_with_the_lease(self) -> Self:
        """A SACT worker paused inside a transaction holds its submission's row lock, and the takeover's
        `FOR UPDATE SKIP LOCKED` skips the row while it does: so PostgreSQL must end such a transaction by
        the time the lease runs out (CI: a SIGSTOPped replica's file never taken over in 33 s)."""
        if "database_idle_in_transaction_timeout_s" not in self.model_fields_set:
            self.database_idle_in_transaction_timeout_s = self.sact_stale_after_s
        elif self.database_idle_in_transaction_timeout_s > self.sact_stale_after_s:
            raise ValueError(
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_S must not exceed SACT_STALE_AFTER_S: a paused worker's "
                "locks would outlast its lease and hold up the takeover"
            )
        return self
