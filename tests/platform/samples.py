"""Sample requests shared by the platform tests."""

from datetime import date

APPLICATION = {
    "nhs_number": "943 476 5919",
    "provider_ods": "RRV",
    "entry_id": "CDF-PEMBRO-NSCLC",
    "dmd_id": "108537001",
    "drug_name": "Pembrolizumab",
    "indication": "Non-small cell lung cancer, PD-L1 >= 50%",
    "clinician_gmc": "1234567",
    "clinician_email": "a.oncologist@nhs.net",
    "planned_start": str(date(2026, 12, 1)),
    "expected_cost": "42000.00",
}
