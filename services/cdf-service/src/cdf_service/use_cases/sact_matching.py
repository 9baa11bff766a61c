"""Applying SACT to approvals: starts, stops, cycle counts and unapproved use, each exactly once.

For every (patient, listed drug) a submission touched, the whole SACT history of that pair at the
trust (every submission) is matched again by the pure rules in domain.matching; then only what is new
is written. Once-only comes from the database, not from memory: a start or stop is a state transition
of a row locked FOR UPDATE (a second one is not allowed), cycles and unapproved regimens have primary
keys (ON CONFLICT DO NOTHING ... RETURNING tells what is new).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from casework.events.catalogue.cdf import UnapprovedUseDetected
from cdf_service.db.forecast_repo import FORECASTER
from cdf_service.db.trust_locks import lock_trusts
from cdf_service.domain.matching import ApprovalView, Given, Regimen, Treatment, match
from cdf_service.domain.prior_approval import TRANSITIONS, ApplicationAction, ApplicationState
from cdf_service.domain.stop_reasons import describe, reasons_of
from cdf_service.runtime import CdfRuntime, CdfUnitOfWork
from cdf_service.use_cases.application_events import emit_started, emit_stopped

KEYS_PER_BATCH = 500
ACTOR = "system:cdf-sact-matcher"

_KEYS = text("SELECT DISTINCT patient_ref, drug_key FROM sact_rows WHERE submission_id = :sid AND listed ORDER BY 1, 2")
_GIVEN = text(
    """
    SELECT DISTINCT r.patient_ref, r.drug_key, r.regimen_start, r.cycle_number, r.cycle_start,
           r.administration_date, r.final_treatment_date, r.stop_reasons, r.cycles, r.cycle_length_days,
           r.dispensed
    FROM sact_rows r
    JOIN unnest(CAST(:refs AS text[]), CAST(:drugs AS text[])) AS k(patient_ref, drug_key)
      ON r.patient_ref = k.patient_ref AND r.drug_key = k.drug_key
    WHERE r.listed AND r.provider_ods = :trust
    """
)
# A detection names the row of its first administration (whichever submission brought it) and the NHS
# number that row kept, and the list entries of the drug on that day (any version when none was in force).
_UNAPPROVED = text(
    """
    INSERT INTO unapproved_uses (provider_ods, patient_ref, drug_key, regimen_start, first_administration,
                                 cycles, submission_id, row_no, nhs_number, drug_name, dmd_id, entry_ids)
    SELECT :trust, u.patient_ref, u.drug_key, u.regimen_start, u.first_administration, u.cycles,
           coalesce(f.submission_id, :sid), f.row_no, f.nhs_number, u.drug_name, u.dmd_id,
           coalesce(
               nullif(ARRAY(SELECT DISTINCT v.entry_id FROM list_entry_versions v
                            WHERE lower(btrim(v.drug_name)) = u.drug_key AND v.effective_from <= u.first_administration
                              AND (v.effective_to IS NULL OR v.effective_to > u.first_administration)
                            ORDER BY 1)::varchar[], '{}'),
               ARRAY(SELECT DISTINCT v.entry_id FROM list_entry_versions v
                     WHERE lower(btrim(v.drug_name)) = u.drug_key ORDER BY 1)::varchar[])
    FROM unnest(CAST(:refs AS text[]), CAST(:drugs AS text[]), CAST(:starts AS date[]), CAST(:firsts AS date[]),
                CAST(:cycles AS int[]), CAST(:names AS text[]), CAST(:dmd_ids AS text[]))
         AS u(patient_ref, drug_key, regimen_start, first_administration, cycles, drug_name, dmd_id)
    LEFT JOIN LATERAL (
        SELECT r.submission_id, r.row_no, r.nhs_number FROM sact_rows r
        WHERE r.listed AND r.provider_ods = :trust AND r.patient_ref = u.patient_ref AND r.drug_key = u.drug_key
          AND r.regimen_start = u.regimen_start
        ORDER BY r.administration_date, r.submission_id = CAST(:sid AS uuid) DESC, r.row_no
        LIMIT 1
    ) f ON true
    ON CONFLICT DO NOTHING
    RETURNING patient_ref, drug_key, regimen_start, id, submission_id, row_no, entry_ids
    """
)


_APPROVALS = text(
    """
    SELECT a.id, a.reference, a.provider_ods, a.entry_id, a.dmd_id, a.patient_ref, a.drug_key, a.status,
           a.planned_start, a.lapse_due, a.first_administration, a.final_treatment_date, a.stop_reason,
           a.stop_reasons, a.cycles_given, a.cost_per_cycle
    FROM applications a
    JOIN unnest(CAST(:refs AS text[]), CAST(:drugs AS text[])) AS k(patient_ref, drug_key)
      ON a.patient_ref = k.patient_ref AND a.drug_key = k.drug_key
    WHERE left(a.provider_ods, 3) = :trust AND a.status <> 'rejected'
    ORDER BY a.id
    FOR UPDATE OF a
    """
)
# What a batch changes, in one round trip: the approvals (a version bump, as the ORM's version counter
# would), their new cycles, and the trust x entry pairs the forecaster must recompute.
_APPLY = text(
    """
    WITH moved AS (
        UPDATE applications a
        SET status = u.status, first_administration = u.first_administration,
            final_treatment_date = u.final_treatment_date, stop_reason = u.stop_reason,
            stop_reasons = string_to_array(u.stop_codes, ','),
            cycles_given = u.cycles_given, version = a.version + 1
        FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:firsts AS date[]),
                    CAST(:finals AS date[]), CAST(:reasons AS text[]), CAST(:stop_codes AS text[]),
                    CAST(:cycle_counts AS int[]))
             AS u(id, status, first_administration, final_treatment_date, stop_reason, stop_codes, cycles_given)
        WHERE a.id = u.id
        RETURNING 1
    ), cycles AS (
        INSERT INTO treatment_cycles (application_id, regimen_start, cycle_number, cycle_start, given_on,
                                      cycle_length_days, dispensed)
        SELECT * FROM unnest(CAST(:cycle_apps AS uuid[]), CAST(:starts AS date[]), CAST(:numbers AS smallint[]),
                             CAST(:cycle_starts AS date[]), CAST(:given_on AS date[]),
                             CAST(:lengths AS smallint[]), CAST(:dispensed AS boolean[]))
        ON CONFLICT DO NOTHING
        RETURNING 1
    ), dirty AS (
        INSERT INTO forecast_dirty (provider_ods, entry_id)
        SELECT * FROM unnest(CAST(:dirty_providers AS text[]), CAST(:dirty_entries AS text[]))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM cycles), (SELECT count(*) FROM dirty)
    """
)


@dataclass(frozen=True)
class ListedDrug:
    name: str
    dmd_id: str


@dataclass
class LockedApproval:
    """An approval row locked for matching: what the rules read, the events carry and a match changes."""

    id: uuid.UUID
    reference: str
    provider_ods: str
    entry_id: str
    dmd_id: str
    patient_ref: str
    drug_key: str
    status: str
    planned_start: date
    lapse_due: date
    first_administration: date | None
    final_treatment_date: date | None
    stop_reason: str | None
    stop_reasons: list[str] | None
    cycles_given: int
    cost_per_cycle: Decimal
    changed: bool = False
    first_dispensed: bool = False  # the start SACT shows now was an oral drug's dispensing


async def match_submission(
    runtime: CdfRuntime,
    submission_id: uuid.UUID,
    *,
    trust: str,
    listed: dict[str, ListedDrug],
    hold: Callable[[CdfUnitOfWork], Awaitable[None]] | None = None,
) -> Counter[str]:
    """Match every listed (patient, drug) pair the submission touched, a batch of pairs per transaction;
    returns what happened. `hold` runs first in each batch's transaction (the worker's claim check)."""
    counts: Counter[str] = Counter()
    async with runtime.unit_of_work() as uow:
        keys = await submission_keys(uow, submission_id)
    for start in range(0, len(keys), KEYS_PER_BATCH):
        async with runtime.unit_of_work() as uow:
            if hold is not None:
                await hold(uow)
            batch = keys[start : start + KEYS_PER_BATCH]
            await match_pairs(uow, batch, submission_id=submission_id, trust=trust, listed=listed, counts=counts)
            await uow.commit()
    counts["pairs"] = len(keys)
    return counts


async def submission_keys(uow: CdfUnitOfWork, submission_id: uuid.UUID) -> list[tuple[str, str]]:
    """The listed (patient_ref, drug) pairs a submission touched, in one order for every caller."""
    return [(r[0], r[1]) for r in await uow.session.execute(_KEYS, {"sid": submission_id})]


async def match_pairs(
    uow: CdfUnitOfWork,
    keys: Sequence[tuple[str, str]],
    *,
    submission_id: uuid.UUID,
    trust: str,
    listed: dict[str, ListedDrug],
    counts: Counter[str],
    mark: bool = True,
) -> set[tuple[str, str]]:
    """Match `keys` inside the caller's unit of work, holding the trust's lock (db.trust_locks): a
    submission processed beside another of the same trust reads that one's rows once it has committed.

    Returns the (provider, entry) pairs whose forecast the match changed; with `mark` they are also
    queued for the forecaster, without it the caller recomputes them itself."""
    if not keys:
        return set()
    await lock_trusts(uow.session, [trust])
    params: dict[str, object] = {"refs": [k[0] for k in keys], "drugs": [k[1] for k in keys], "trust": trust}
    given: dict[tuple[str, str], list[Given]] = defaultdict(list)
    for row in await uow.session.execute(_GIVEN, params):
        given[(row.patient_ref, row.drug_key)].append(Given(*row[2:]))
    approvals: dict[tuple[str, str], list[LockedApproval]] = defaultdict(list)
    for app in await _locked_approvals(uow, params):
        approvals[(app.patient_ref, app.drug_key)].append(app)
    early = runtime_early_days(uow)
    writes = _Writes(mark=mark)
    for key in keys:
        by_id = {str(a.id): a for a in approvals.get(key, [])}
        result = match([_view(a) for a in by_id.values()], given.get(key, []), early)
        for treatment in result.treatments:
            _apply_treatment(uow, by_id[treatment.approval_id], treatment, writes, counts)
        writes.unapproved += [(key, regimen) for regimen in result.unapproved]
        writes.approvals += [a for a in by_id.values() if a.changed]
    await writes.flush(uow, submission_id, trust=trust, listed=listed, counts=counts)
    return writes.dirty


@dataclass
class _Writes:
    """What one batch of pairs writes, gathered so the batch writes in one statement (plus unapproved use)."""

    mark: bool = True  # queue the changed pairs for the forecaster
    approvals: list[LockedApproval] = field(default_factory=list)
    cycles: list[tuple[uuid.UUID, date, int, date, date, int | None, bool]] = field(default_factory=list)
    unapproved: list[tuple[tuple[str, str], Regimen]] = field(default_factory=list)
    dirty: set[tuple[str, str]] = field(default_factory=set)

    async def flush(
        self,
        uow: CdfUnitOfWork,
        submission_id: uuid.UUID,
        *,
        trust: str,
        listed: dict[str, ListedDrug],
        counts: Counter[str],
    ) -> None:
        marked = self.dirty if self.mark else set()
        if self.approvals or self.cycles or marked:
            await uow.session.execute(_APPLY, self._params(sorted(marked)))
        if marked:
            uow.wake_after_commit(FORECASTER)
        if self.unapproved:
            await _record_unapproved(uow, self.unapproved, submission_id, trust, listed, counts)

    def _params(self, dirty: list[tuple[str, str]]) -> dict[str, list[object]]:
        apps, cycles = self.approvals, self.cycles
        return {
            "ids": [a.id for a in apps],
            "statuses": [a.status for a in apps],
            "firsts": [a.first_administration for a in apps],
            "finals": [a.final_treatment_date for a in apps],
            "reasons": [a.stop_reason for a in apps],
            "stop_codes": [",".join(a.stop_reasons) if a.stop_reasons is not None else None for a in apps],
            "cycle_counts": [a.cycles_given for a in apps],
            "cycle_apps": [c[0] for c in cycles],
            "starts": [c[1] for c in cycles],
            "numbers": [c[2] for c in cycles],
            "cycle_starts": [c[3] for c in cycles],
            "given_on": [c[4] for c in cycles],
            "lengths": [c[5] for c in cycles],
            "dispensed": [c[6] for c in cycles],
            "dirty_providers": [p for p, _ in dirty],
            "dirty_entries": [e for _, e in dirty],
        }


def runtime_early_days(uow: CdfUnitOfWork) -> int:
    return int(getattr(uow.settings, "early_start_days", 28))


async def _locked_approvals(uow: CdfUnitOfWork, params: dict[str, object]) -> list[LockedApproval]:
    return [LockedApproval(*row) for row in await uow.session.execute(_APPROVALS, params)]


def _view(app: LockedApproval) -> ApprovalView:
    return ApprovalView(str(app.id), app.status, app.planned_start, app.lapse_due, app.first_administration)


def _apply_treatment(
    uow: CdfUnitOfWork, app: LockedApproval, treatment: Treatment, writes: _Writes, counts: Counter[str]
) -> None:
    regimen = treatment.regimen
    if len(regimen.cycles) != app.cycles_given:
        writes.cycles += [(app.id, regimen.start, *cycle) for cycle in regimen.cycles]
        app.cycles_given = len(regimen.cycles)
        app.changed = True
    if app.first_administration is not None and regimen.first_administration < app.first_administration:
        # an earlier cycle of the started regimen came in a later submission: the start moves back, no
        # second start event (the treatment started once)
        app.first_administration = regimen.first_administration
        uow.audit(ACTOR, "correct_first_administration", "cdf_application", app.id)
        app.changed = True
    if app.status == ApplicationState.APPROVED:
        app.status = TRANSITIONS.next_state(app.status, ApplicationAction.START_TREATMENT)
        app.first_administration = regimen.first_administration
        app.first_dispensed = regimen.first_dispensed
        emit_started(uow, app)
        uow.audit(ACTOR, "start_treatment", "cdf_application", app.id)
        counts["started"] += 1
        app.changed = True
    if regimen.final_treatment_date is not None and app.status == ApplicationState.TREATMENT_STARTED:
        app.status = TRANSITIONS.next_state(app.status, ApplicationAction.STOP_TREATMENT)
        app.final_treatment_date = regimen.final_treatment_date
        app.stop_reason = describe(regimen.stop_reasons)
        app.stop_reasons = [reason.value for reason in reasons_of(regimen.stop_reasons)]
        emit_stopped(uow, app)
        uow.audit(ACTOR, "stop_treatment", "cdf_application", app.id, reason=app.stop_reason)
        counts["stopped"] += 1
        app.changed = True
    if app.changed:
        writes.dirty.add((app.provider_ods, app.entry_id))


async def _record_unapproved(
    uow: CdfUnitOfWork,
    found: Sequence[tuple[tuple[str, str], Regimen]],
    submission_id: uuid.UUID,
    trust: str,
    listed: dict[str, ListedDrug],
    counts: Counter[str],
) -> None:
    """Insert the unapproved regimens; only those the database did not know yet raise an event."""
    params = {
        "trust": trust,
        "refs": [key[0] for key, _ in found],
        "drugs": [key[1] for key, _ in found],
        "starts": [r.start for _, r in found],
        "firsts": [r.first_administration for _, r in found],
        "cycles": [len(r.cycles) for _, r in found],
        "names": [listed[key[1]].name for key, _ in found],
        "dmd_ids": [listed[key[1]].dmd_id for key, _ in found],
        "sid": submission_id,
    }
    new = {(r.patient_ref, r.drug_key, r.regimen_start): r for r in await uow.session.execute(_UNAPPROVED, params)}
    for (patient, drug_key), regimen in found:
        if (row := new.get((patient, drug_key, regimen.start))) is None:
            continue  # already detected from an earlier submission
        drug = listed[drug_key]
        payload = UnapprovedUseDetected(
            provider_ods=trust,
            dmd_id=drug.dmd_id,
            drug_name=drug.name,
            patient_ref=patient,
            first_administration=regimen.first_administration,
            cycles=len(regimen.cycles),
            submission_id=row.submission_id,
            detection_id=row.id,
            row_no=row.row_no,
            entry_ids=list(row.entry_ids),
        )
        uow.emit("cdf.unapproved_use.detected", str(row.id), payload)
        uow.audit(ACTOR, "detect_unapproved_use", "cdf_unapproved_use", row.id)
        counts["unapproved"] += 1
