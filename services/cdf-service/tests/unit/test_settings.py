"""cdf-service's settings keep a paused worker's database locks inside its SACT lease."""

import pytest
from pydantic import ValidationError

from cdf_service.settings import CdfSettings


def test_the_idle_transaction_limit_follows_the_lease_unless_set() -> None:
    assert CdfSettings().database_idle_in_transaction_timeout_s == CdfSettings().sact_stale_after_s
    assert CdfSettings(sact_stale_after_s=3).database_idle_in_transaction_timeout_s == 3
    shorter = CdfSettings(sact_stale_after_s=60, database_idle_in_transaction_timeout_s=20)
    assert shorter.database_idle_in_transaction_timeout_s == 20


def test_a_limit_past_the_lease_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValidationError) as refused:
        CdfSettings(sact_stale_after_s=3, database_idle_in_transaction_timeout_s=10)
    assert "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_S" in str(refused.value) and "SACT_STALE_AFTER_S" in str(refused.value)
