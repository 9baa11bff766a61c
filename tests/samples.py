"""Sample requests shared by the platform tests."""

from datetime import date

from cdf_service.use_cases.list_loader import SEED_LIST

CDF_LIST_CSV = SEED_LIST.read_bytes()  # the demo's national list (pembrolizumab at 5,260.00 x 8 cycles)

CLINICIAN = {
    "trust_ods": "RRV",
    "gmc_number": "1234567",
    "name": "Dr A Oncologist",
    "email": "a.oncologist@nhs.net",
    "specialty": "medical oncology",
}

APPLICATION = {
    "nhs_number": "943 476 5919",
    "date_of_birth": "1958-03-14",
    "provider_ods": "RRV",
    "entry_id": "CDF-PEMBRO-NSCLC-1L",
    "clinician_gmc": "1234567",
    "answers": {"C1": True, "C2": True, "C3": True, "C4": True, "C5": True, "C6": True, "C9": False},
    "planned_start": str(date(2026, 12, 1)),
    "consent_confirmed": True,
}


async def load_national_list(client, stack) -> None:  # type: ignore[no-untyped-def]
    """The demo's national CDF list, loaded as the CDF manager does (safe to repeat)."""
    loaded = await client.post(
        "/api/v1/cdf/list/import",
        content=CDF_LIST_CSV,
        headers={**stack.auth("X24", "cdf_manager"), "Content-Type": "text/csv"},
    )
    assert loaded.status_code == 200, loaded.text


async def confirmed_clinician(client, stack, clinician: dict, *, again_ok: bool = False) -> None:  # type: ignore[no-untyped-def]
    """`clinician` registered at their trust (`trust_ods`) and confirmed by the trust's CDF lead;
    `again_ok`: one registered before in this database will do."""
    trust = clinician["trust_ods"]
    registered = await client.post("/api/v1/cdf/clinicians", json=clinician, headers=stack.auth(trust, "clinician"))
    if again_ok and registered.status_code == 409:  # already registered in this database
        return
    assert registered.status_code == 201, registered.text
    confirmed = await client.post(
        f"/api/v1/cdf/clinicians/{registered.json()['id']}/confirm",
        headers={**stack.auth(trust, "trust_cdf_lead"), "If-Match": registered.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text


async def prepare_cdf(client, stack) -> None:  # type: ignore[no-untyped-def]
    """The national list and a confirmed clinician at RRV: what an approval needs (safe to repeat)."""
    await load_national_list(client, stack)
    await confirmed_clinician(client, stack, CLINICIAN, again_ok=True)


async def submitted_ifr_case(ifr_url: str, stack, trust: str = "RRV") -> dict:  # type: ignore[no-untyped-def]
    """A complete IFR application (ifr-service's example) submitted by a clinician of `trust`."""
    import httpx

    from ifr_service.api.examples import APPLICATION_EXAMPLE

    headers = stack.auth(trust, "clinician")
    body = {**APPLICATION_EXAMPLE, "clinician": {**APPLICATION_EXAMPLE["clinician"], "trust_ods": trust}}
    async with httpx.AsyncClient(base_url=ifr_url) as client:
        draft = await client.post("/api/v1/ifr/requests", json=body, headers=headers)
        assert draft.status_code == 201, draft.text
        version = draft.json()["version"]
        submitted = await client.post(
            f"/api/v1/ifr/requests/{draft.json()['id']}/submit", headers={**headers, "If-Match": f'W/"{version}"'}
        )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


async def listed_ifr_case(  # type: ignore[no-untyped-def]
    ifr_url: str, stack, application: dict, members: list[dict], panel: str = "Panel for", before_listing=None
) -> tuple[dict, dict]:
    """An IFR request from RRV submitted, acknowledged, screened and listed for a panel meeting today
    (named `panel` and the case's reference) with `members`, through the API; `before_listing(api, case)`
    may act on the submitted case first."""
    import httpx

    clinician, officer = stack.auth("RRV", "clinician"), stack.auth("X24", "ifr_officer")
    async with httpx.AsyncClient(base_url=ifr_url) as api:

        async def act(case: dict, action: str, body: dict | None = None, headers: dict | None = None) -> dict:
            reply = await api.post(
                f"/api/v1/ifr/requests/{case['id']}/{action}",
                json=body,
                headers={**(headers or officer), "If-Match": f'W/"{case["version"]}"'},
            )
            assert reply.status_code == 200, reply.text
            return reply.json()

        draft = await api.post("/api/v1/ifr/requests", json=application, headers=clinician)
        assert draft.status_code == 201, draft.text
        case = await act(draft.json(), "submit", headers=clinician)
        if before_listing is not None:
            await before_listing(api, case)
        case = await act(await act(case, "acknowledge"), "screen")
        panel = await api.post(
            "/api/v1/ifr/panels",
            json={
                "kind": "ifr",
                "name": f"{panel} {case['reference']}",
                "region": "Y56",  # RRV's region: London
                "meeting_date": date.today().isoformat(),
                "members": members,
            },
            headers={**officer, "Idempotency-Key": case["reference"]},
        )
        assert panel.status_code == 201, panel.text
        case = await act(case, "list-for-panel", {"panel_id": panel.json()["id"]})
    return case, panel.json()


def first_open_course(trust: str, nhs_number: str, gmc: str, regimen_start: date, planned_start: date):  # type: ignore[no-untyped-def]
    """A course of the first open list entry with no managed-access end (the entry, the course), approved
    for a patient at `trust` with consultant `gmc`: the CDF approval the contract flows start from."""
    from cdf_service.domain.national_list import EntryStatus
    from cdf_service.synthetic.national import Course, seed_entries

    entry = min(
        (e for e in seed_entries().values() if e.status == EntryStatus.OPEN and e.managed_access_end is None),
        key=lambda e: e.entry_id,
    )
    course = Course(
        trust=trust,
        nhs_number=nhs_number,
        born=date(1960, 1, 1),
        sex="2",
        gmc=gmc,
        diagnosis="C34.9",
        drugs=(entry.drug_name,),
        cycle_days=entry.cycle_length_days,
        cycles=entry.expected_cycles,
        regimen_start=regimen_start,
        entry_id=entry.entry_id,
        approved=True,
        planned_start=planned_start,
    )
    return entry, course


START_GMC = "7000142"


async def approved_course_starting_today(client, stack, trust: str, nhs_number: str):  # type: ignore[no-untyped-def]
    """The national list, a confirmed clinician at `trust`, and one approval planned for today whose
    first cycle SACT will show as given yesterday (the course)."""
    from datetime import timedelta

    from cdf_service.synthetic.national import application_for

    today = date.today()
    await load_national_list(client, stack)
    clinician = {"trust_ods": trust, "gmc_number": START_GMC, "name": "Dr S Start", "email": "s.start@nhs.net"}
    await confirmed_clinician(client, stack, clinician)
    entry, course = first_open_course(
        trust, nhs_number, START_GMC, regimen_start=today - timedelta(days=1), planned_start=today
    )
    made = await client.post(
        "/api/v1/cdf/applications", json=application_for(course, entry), headers=stack.auth(trust, "clinician")
    )
    assert made.status_code == 201 and made.json()["status"] == "approved", made.text
    return course


def sact_csv(course) -> bytes:  # type: ignore[no-untyped-def]
    """The course's SACT records of this month as a trust's CSV file."""
    import io
    import random

    from cdf_service.synthetic.sact_files import write_sact_csv

    buffer = io.StringIO()
    write_sact_csv(buffer, [course], date.today(), random.Random(1))
    return buffer.getvalue().encode()
