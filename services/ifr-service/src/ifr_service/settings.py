"""Settings of the IFR service (environment variables; see the README's configuration table)."""

from __future__ import annotations

from pydantic import Field

from casework.identifiers import OdsCode
from casework.settings import ServiceSettings
from ifr_service.domain.clocks import DEFAULT_DAYS, Clock, ClockDays
from ifr_service.domain.cohort import DEFAULT_RULE, CohortRule
from ifr_service.domain.panel import DEFAULT_QUORUM, QuorumRule
from ifr_service.domain.regions import Region

_D = DEFAULT_DAYS

# The commissioning region of each trust the embedded stack and the synthetic data use (the demo's and
# the dev personas' RRV and RJ1 are London trusts; RGT, RTH, RWE and the others are in other regions).
DEFAULT_TRUST_REGIONS: dict[str, Region] = {
    "RRV": Region.LONDON,  # University College London Hospitals
    "RJ1": Region.LONDON,  # Guy's and St Thomas'
    "RPY": Region.LONDON,  # The Royal Marsden
    "RTH": Region.SOUTH_EAST,  # Oxford University Hospitals
    "RA7": Region.SOUTH_WEST,  # University Hospitals Bristol and Weston
    "RWE": Region.MIDLANDS,  # University Hospitals of Leicester
    "RRK": Region.MIDLANDS,  # University Hospitals Birmingham
    "RGT": Region.EAST_OF_ENGLAND,  # Cambridge University Hospitals
    "RM1": Region.EAST_OF_ENGLAND,  # Norfolk and Norwich University Hospitals
    "RBV": Region.NORTH_WEST,  # The Christie
    "RHQ": Region.NORTH_EAST_AND_YORKSHIRE,  # Sheffield Teaching Hospitals
}


class IfrSettings(ServiceSettings):
    service_name: str = "ifr"
    port: int = 8001
    public_base_url: str = "http://127.0.0.1:8001"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/ifr"

    # intake
    ifr_mailbox: str = Field("england.ifr-casework@nhs.net", description="Inbound mailbox whose mail opens drafts")
    notification_service_url: str = Field("http://127.0.0.1:8004", description="Where inbound mail is fetched")
    secure_email_domains: list[str] = Field(
        default_factory=lambda: ["nhs.net"], description="Domains a requesting clinician's address must be on"
    )
    document_max_bytes: int = Field(10 * 1024 * 1024, description="Largest attachment accepted")

    # stage clocks, working days (DOMAIN.md defaults; urgent "same day" is 0)
    acknowledge_days_routine: int = Field(_D[Clock.ACKNOWLEDGE].routine, ge=0)
    acknowledge_days_urgent: int = Field(_D[Clock.ACKNOWLEDGE].urgent, ge=0)
    triage_days_routine: int = Field(_D[Clock.TRIAGE].routine, ge=0)
    triage_days_urgent: int = Field(_D[Clock.TRIAGE].urgent, ge=0)
    screening_outcome_days_routine: int = Field(_D[Clock.SCREENING_OUTCOME].routine, ge=0)
    screening_outcome_days_urgent: int = Field(_D[Clock.SCREENING_OUTCOME].urgent, ge=0)
    panel_decision_days_routine: int = Field(_D[Clock.PANEL_DECISION].routine, ge=0)
    panel_decision_days_urgent: int = Field(_D[Clock.PANEL_DECISION].urgent, ge=0)
    decision_letter_days_routine: int = Field(_D[Clock.DECISION_LETTER].routine, ge=0)
    decision_letter_days_urgent: int = Field(_D[Clock.DECISION_LETTER].urgent, ge=0)
    review_window_days_routine: int = Field(_D[Clock.REVIEW_WINDOW].routine, ge=0)
    review_window_days_urgent: int = Field(_D[Clock.REVIEW_WINDOW].urgent, ge=0)
    review_decision_days_routine: int = Field(_D[Clock.REVIEW_DECISION].routine, ge=0)
    review_decision_days_urgent: int = Field(_D[Clock.REVIEW_DECISION].urgent, ge=0)
    ratification_days: int = Field(
        _D[Clock.RATIFICATION].urgent, ge=0, description="Working days for the panel to ratify a chair's action"
    )
    deadline_warning_days: int = Field(2, ge=0, description="Working days before a due date to warn")
    deadline_sweep_interval_s: float = Field(300.0, gt=0, description="How often the deadline sweep runs")

    # commissioning regions
    trust_regions: dict[OdsCode, Region] = Field(
        default_factory=lambda: dict(DEFAULT_TRUST_REGIONS),
        description="Each trust's commissioning region: ODS trust code -> region code (Y56 London ... Y63)",
    )

    # the cohort trigger (domain/cohort.py): more than 5 requests in 12 months by default
    cohort_min_requests: int = Field(
        DEFAULT_RULE.min_requests, ge=2, description="Requests for one treatment in one region that make a cohort"
    )
    cohort_window_months: int = Field(DEFAULT_RULE.window_months, ge=1, le=120, description="The cohort window")

    # panel quorum
    quorum_required_roles: dict[str, int] = Field(
        default_factory=lambda: {str(k): v for k, v in DEFAULT_QUORUM.required_roles.items()},
        description="Members needed per role (a deputy chair counts as the chair)",
    )
    quorum_min_voting: int = Field(DEFAULT_QUORUM.min_voting, ge=1, description="Voting members needed")

    def clock_days(self) -> dict[Clock, ClockDays]:
        days: dict[Clock, ClockDays] = {
            c: ClockDays(getattr(self, f"{c.value}_days_routine"), getattr(self, f"{c.value}_days_urgent"))
            for c in Clock
            if c != Clock.RATIFICATION
        }
        # chair's action is for urgent cases only: one setting
        return {**days, Clock.RATIFICATION: ClockDays(self.ratification_days, self.ratification_days)}

    def cohort_rule(self) -> CohortRule:
        return CohortRule(min_requests=self.cohort_min_requests, window_months=self.cohort_window_months)

    def quorum_rule(self) -> QuorumRule:
        return QuorumRule(required_roles=dict(self.quorum_required_roles), min_voting=self.quorum_min_voting)
