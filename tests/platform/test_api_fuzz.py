"""Property-based checks of every service's public API with schemathesis: requests generated from each
service's own OpenAPI document (valid and invalid bodies, odd path and query values, missing and
stale headers) must never get a 5xx, and every answer must be one the document promises: its status
among the operation's documented responses and its content type the one documented for that status
(schemathesis's status-code and content-type conformance checks). A client's mistake is a 4xx
problem+json, never a server error, and never a status the client could not have known about.

Each service runs as deployed (`casework serve`, its own process and database) with its workers off,
so nothing the fuzzing makes reaches the broker and the other tests. The callers hold every role, so
requests get past authentication to the validation and rules behind it: once as NHS England, once as
a trust.
FUZZ_EXAMPLES sets how many requests per operation (default 12; raise it for a deeper local run).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance

from casework.auth import Role
from embedded_stack.testing import TestStack

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here reproduces
    suppress_health_check=list(HealthCheck),
    database=None,
)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]

# Who calls: NHS England (sees every organisation) and a trust (its own records only, other code paths).
CALLERS = {"commissioner": "X24", "provider": "RRV"}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("service", ["ifr", "cdf", "contract", "notification"])
def test_no_request_gets_a_server_error(stack: TestStack, service: str, caller: str) -> None:
    token = stack.token(f"fuzz-{caller}", CALLERS[caller], *[role.value for role in Role])
    failures: list[str] = []
    with stack.served(service, f"fuzz_{service}", RUN_WORKERS="false") as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        schema.config.update(base_url=base_url)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 5, "the service's OpenAPI document lists its operations"
        for operation in operations:
            cases = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode))

            @FUZZ
            @given(case=cases)
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

            try:
                call()
            # collect every operation's first failure, then report them all (schemathesis raises a group)
            except (Exception, BaseExceptionGroup) as failure:
                failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
