"""The national SACT data set, one schema per version (v4.0, v3.0): item numbers, names, CSV headers,
types, code lists and what is mandatory. The header check, the row validator, the synthetic generator,
GET /api/v1/sact/schemas and the service README's tables all read these; there is no second copy.

One CSV row is one drug administration (or, in v4.0, one dispensing of an oral drug that may cover
several cycles), with the patient, regimen, cycle and outcome items repeated on each row.
"""

from cdf_service.sact_schema.header import (
    CURRENT,
    SCHEMAS,
    HeaderError,
    Problem,
    detect,
    detect_keys,
    header_problems,
    read_header,
    schema_for,
)
from cdf_service.sact_schema.items import Choice, DataItem, ItemType, Role, SactSchema, header_text
from cdf_service.sact_schema.v3 import SACT_V3
from cdf_service.sact_schema.v4 import SACT_V4

__all__ = [
    "CURRENT",
    "SACT_V3",
    "SACT_V4",
    "SCHEMAS",
    "Choice",
    "DataItem",
    "HeaderError",
    "ItemType",
    "Problem",
    "Role",
    "SactSchema",
    "detect",
    "detect_keys",
    "header_problems",
    "header_text",
    "read_header",
    "schema_for",
]
