from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import casework.events.catalogue  # noqa: F401  (registers every event type)
from casework.events.registry import registry
from notification_service.domain.routing import (
    Directory,
    RecipientRole,
    RoutingConfig,
    packaged_routing_config,
    parse_routing_config,
)
from notification_service.domain.templates import TemplateSet

ROUTED_EVENTS = {
    "cdf.application.approved",
    "cdf.application.rejected",
    "cdf.approval.lapsed",
    "cdf.unapproved_use.detected",
    "cdf.unapproved_use.challenged",
    "ifr.request.acknowledged",
    "ifr.request.information_requested",
    "ifr.request.redirected",
    "ifr.request.screened_out",
    "ifr.request.service_development",
    "ifr.decision.made",
    "ifr.decision.ratified",
    "ifr.request.review_decided",
    "ifr.request.deadline_breached",
    "ifr.cohort.detected",
    "contract.validation_query.raised",
    "contract.validation_query.resolved",
    "contract.budget.at_risk",
}
# Event types that deliberately send no mail; each is named, with its reason, in the README.
NOT_ROUTED = {
    "ifr.request.submitted",  # the acknowledgement follows
    "ifr.request.resubmitted",  # the clinician's own action
    "ifr.request.listed_for_panel",  # scheduling; the decision is mailed
    "ifr.request.withdrawn",  # the trust's (or, on its behalf, the team's) own action
    "ifr.request.deadline_approaching",  # the team's worklist; a breach is mailed
    "ifr.request.reconsideration_requested",  # the clinician's own action; the outcome is mailed
    "ifr.request.review_requested",  # the clinician's own action; the outcome is mailed
    "ifr.cohort.updated",  # one mail per cohort, on detection; the alert's page shows it growing
    "cdf.application.withdrawn",  # the trust's own action
    "cdf.treatment.started",  # from the trust's own SACT data
    "cdf.treatment.stopped",  # from the trust's own SACT data
    "cdf.forecast.updated",  # for contract-service; an at-risk budget is mailed
    "cdf.sact_submission.processed",  # the result is on the API; unapproved use is mailed
    "cdf.unapproved_use.answered",  # the trust's own answer, on the commissioner's worklist
    "cdf.unapproved_use.accepted",  # the trust sees it on the detection's page
    "cdf.unapproved_use.closed",  # the end of a case both parties saw
    "contract.commitment.recorded",  # finance bookkeeping
    "contract.commitment.released",  # finance bookkeeping
    "contract.variation.agreed",  # agreed by both parties
    "mail.received",  # the gateway replies itself, threaded
    "notification.sent",  # our own outcome
    "notification.failed",  # our own outcome: mailing about a failed mail could loop
}
README = Path(__file__).resolve().parents[2] / "README.md"

MINIMAL = """
[[route]]
event = "cdf.application.approved"
template = "cdf_application_approved"
recipients = ["requesting_clinician", "trust_cdf_mailbox"]
link = "/cdf/applications/{application_id}"

[directory]
ifr_team_mailbox = "ifr@nhs.net"
finance_mailbox = "finance@nhs.net"

[directory.pattern]
trust_cdf_mailbox = "{ods}.cdf@nhs.net"
trust_pharmacy_mailbox = "{ods}.pharmacy@nhs.net"
provider_contract_lead = "{ods}.contracts@nhs.net"
"""


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return packaged_routing_config()


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return TemplateSet.packaged()


def approved(**overrides: Any) -> dict[str, Any]:
    return {
        "application_id": "5b0c3f7e-2a8c-4a53-9d4e-3f3b1f0d9a11",
        "reference": "CDF-2026-000123",
        "provider_ods": "RXX",
        "clinician_email": "a.clinician@nhs.net",
        **overrides,
    }


def test_packaged_config_routes_every_event_of_the_brief(config: RoutingConfig) -> None:
    assert {r.event for r in config.table.routes} == ROUTED_EVENTS


def test_every_registered_event_type_is_routed_or_deliberately_not() -> None:
    registered = {t.name for t in registry}
    assert ROUTED_EVENTS | NOT_ROUTED == registered
    assert not ROUTED_EVENTS & NOT_ROUTED


def test_readme_names_every_event_type_that_sends_no_mail() -> None:
    section = README.read_text(encoding="utf-8").split("**Not routed**", 1)[1].split("\n* ", 1)[0]
    assert set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", section)) == NOT_ROUTED


def test_every_routed_template_exists(config: RoutingConfig, templates: TemplateSet) -> None:
    assert config.table.template_names() <= templates.names()


@pytest.mark.parametrize("event_type", sorted(ROUTED_EVENTS))
def test_every_route_resolves_its_template_sample(
    config: RoutingConfig, templates: TemplateSet, event_type: str
) -> None:
    (route,) = config.table.routes_for(event_type)
    (plan,) = config.table.resolve(event_type, templates.sample(route.template), config.directory)
    assert plan.recipients
    assert plan.unresolved == ()
    assert plan.case_reference


def test_unknown_event_type_routes_to_nothing(config: RoutingConfig) -> None:
    assert config.table.resolve("cdf.treatment.started", approved(), config.directory) == []
    assert config.table.resolve("mail.received", {"sender": "a@nhs.net"}, config.directory) == []


def test_approval_goes_to_clinician_and_trust_cdf_mailbox_from_pattern(config: RoutingConfig) -> None:
    (plan,) = config.table.resolve("cdf.application.approved", approved(), config.directory)
    assert [(r.role, r.address) for r in plan.recipients] == [
        (RecipientRole.requesting_clinician, "a.clinician@nhs.net"),
        (RecipientRole.trust_cdf_mailbox, "rxx.cdf@nhs.net"),
    ]
    assert plan.template == "cdf_application_approved"
    assert plan.link("https://casework.example/") == (
        "https://casework.example/cdf/applications/5b0c3f7e-2a8c-4a53-9d4e-3f3b1f0d9a11"
    )


def test_listed_trust_overrides_pattern_and_site_falls_back_to_trust(config: RoutingConfig) -> None:
    directory = config.directory
    assert directory.provider_mailbox(RecipientRole.trust_cdf_mailbox, "RRV") == "rrv.cancerdrugsfund@nhs.net"
    assert directory.provider_mailbox(RecipientRole.trust_cdf_mailbox, "RRV03") == "rrv.cancerdrugsfund@nhs.net"
    # Only the CDF mailbox is listed for RRV: the pharmacy still comes from the pattern.
    assert directory.provider_mailbox(RecipientRole.trust_pharmacy_mailbox, "rrv") == "rrv.pharmacy@nhs.net"
    # A site of an unlisted trust: the pattern gives the trust's mailbox, not a per-site one.
    assert directory.provider_mailbox(RecipientRole.provider_contract_lead, "RGT03") == "rgt.contracts@nhs.net"


def test_ratification_goes_where_the_decision_went(config: RoutingConfig) -> None:
    payload = {"request_id": "r1", "reference": "IFR-1", "provider_ods": "RGT03", "clinician_email": "c@nhs.net"}
    (decision,) = config.table.resolve("ifr.decision.made", payload, config.directory)
    (ratified,) = config.table.resolve("ifr.decision.ratified", payload, config.directory)
    assert ratified.template == "ifr_decision_ratified"
    assert ratified.recipients == decision.recipients
    assert [r.address for r in ratified.recipients] == ["c@nhs.net", "rgt.pharmacy@nhs.net"]
    assert ratified.link_path == "/ifr/requests/r1" and ratified.case_reference == "IFR-1"


def test_central_roles(config: RoutingConfig) -> None:
    (breach,) = config.table.resolve(
        "ifr.request.deadline_breached",
        {"request_id": "x", "reference": "IFR-1", "provider_ods": "RXX", "clinician_email": "c@nhs.net"},
        config.directory,
    )
    assert [r.role for r in breach.recipients] == [RecipientRole.ifr_team_mailbox]


def test_missing_clinician_address_is_reported_not_fatal(config: RoutingConfig) -> None:
    payload = {"request_id": "r1", "reference": "IFR-1", "provider_ods": "RXX", "clinician_email": None}
    (plan,) = config.table.resolve("ifr.request.acknowledged", payload, config.directory)
    assert plan.recipients == ()
    assert plan.unresolved == (RecipientRole.requesting_clinician,)


def test_same_address_in_two_roles_gets_one_message() -> None:
    config = parse_routing_config(MINIMAL)
    payload = approved(clinician_email="RXX.CDF@nhs.net")
    (plan,) = config.table.resolve("cdf.application.approved", payload, config.directory)
    assert len(plan.recipients) == 1


def test_link_values_are_url_quoted(config: RoutingConfig) -> None:
    payload = {"provider_ods": "RXX", "financial_year": "2026/27", "line_name": "CDF"}
    (plan,) = config.table.resolve("contract.budget.at_risk", payload, config.directory)
    assert plan.link_path == "/forecast-outturn?provider=RXX&fy=2026%2F27"
    assert plan.case_reference == "BUDGET-RXX-2026/27"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"requesting_clinician", ', '"requesting_clinician", "nobody", '),  # unknown role
        ('"requesting_clinician", ', '"requesting_clinician", "requesting_clinician", '),  # duplicate
        ('link = "/cdf/applications/{application_id}"', 'link = "https://evil.example/"'),
        ('link = "/cdf/applications/{application_id}"', 'link = "/x/{application_id.__class__}"'),
        ('"{ods}.cdf@nhs.net"', '"{trust}.cdf@nhs.net"'),  # unknown placeholder
        ('finance_mailbox = "finance@nhs.net"', 'finance_mailbox = "finance@nhs.net@evil.com"'),
    ],
)
def test_bad_configuration_is_rejected_at_load(old: str, new: str) -> None:
    assert old in MINIMAL
    with pytest.raises(ValidationError):
        parse_routing_config(MINIMAL.replace(old, new, 1))


def test_bad_ods_key_in_directory_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Directory.model_validate(
            {
                "ifr_team_mailbox": "ifr@nhs.net",
                "finance_mailbox": "f@nhs.net",
                "pattern": {
                    "trust_cdf_mailbox": "{ods}.cdf@nhs.net",
                    "trust_pharmacy_mailbox": "{ods}.ph@nhs.net",
                    "provider_contract_lead": "{ods}.c@nhs.net",
                },
                "providers": {"not-an-ods": {"trust_cdf_mailbox": "x@nhs.net"}},
            }
        )


def test_secure_domains_from_config(config: RoutingConfig) -> None:
    assert config.mail.secure.covers("someone@nhs.net")
    assert not config.mail.secure.covers("someone@gmail.com")


def cohort(**overrides: Any) -> dict[str, Any]:
    return {"alert_id": "a1", "reference": "COHORT-2026-0001", "region": "Y61", **overrides}


def test_a_cohort_goes_to_its_regions_policy_team(config: RoutingConfig) -> None:
    (plan,) = config.table.resolve("ifr.cohort.detected", cohort(), config.directory)
    assert [(r.role, r.address) for r in plan.recipients] == [
        (RecipientRole.regional_policy_team, "england.eoe-specialised-policy@nhs.net")
    ]
    assert plan.link_path == "/ifr/cohort-alerts/a1" and plan.case_reference == "COHORT-2026-0001"
    (london,) = config.table.resolve("ifr.cohort.detected", cohort(region="y56"), config.directory)
    assert [r.address for r in london.recipients] == ["england.london-specialised-policy@nhs.net"]
    # a payload without a known region reaches nobody and says so (logged by the handler)
    for region in (None, "Y57"):
        (lost,) = config.table.resolve("ifr.cohort.detected", cohort(region=region), config.directory)
        assert lost.recipients == () and lost.unresolved == (RecipientRole.regional_policy_team,)
    assert config.table.resolve("ifr.cohort.updated", cohort(), config.directory) == []


def test_every_region_has_a_policy_team_mailbox_or_none_does(config: RoutingConfig) -> None:
    assert sorted(config.directory.regions) == ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"]
    assert parse_routing_config(MINIMAL).directory.regions == {}
    base = MINIMAL + "\n[directory.regions]\n"
    every = {code: f"{code.lower()}.policy@nhs.net" for code in config.directory.regions}
    lines = "".join(f'{code} = "{address}"\n' for code, address in every.items())
    assert parse_routing_config(base + lines).directory.region_mailbox("y58") == "y58.policy@nhs.net"
    for broken, problem in (
        (lines.replace('Y63 = "y63.policy@nhs.net"\n', ""), "regions without a policy team mailbox: ['Y63']"),
        (lines + 'Y57 = "y57@nhs.net"\n', "not commissioning region codes: ['Y57']"),
        (lines.replace("y56.policy@nhs.net", "not an address"), "Y56"),
    ):
        with pytest.raises(ValidationError) as refused:
            parse_routing_config(base + broken)
        assert problem in str(refused.value) or "address" in str(refused.value)
