"""A 1 MiB head of the US CFPB consumer-complaint export: a fixture for long written complaints.

The head was cut at exactly 1,048,576 bytes, so its last record is incomplete (possibly mid
UTF-8 character). The loader drops that record, and only that one, by recognising it as the
record the text ended inside, rather than trusting whatever a lenient parser makes of it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline.errors import DatasetFormatError

from ._io import csv_records, require

log = logging.getLogger(__name__)

CFPB_FILE = "cfpb-sample/complaints_head1MB.csv"
COLUMNS = {
    "Date received": "date_received",
    "Product": "product",
    "Sub-product": "sub_product",
    "Issue": "issue",
    "Sub-issue": "sub_issue",
    "Consumer complaint narrative": "narrative",
    "Company public response": "company_public_response",
    "Company": "company",
    "State": "state",
    "ZIP code": "zip_code",
    "Tags": "tags",
    "Consumer consent provided?": "consumer_consent_provided",
    "Submitted via": "submitted_via",
    "Date sent to company": "date_sent_to_company",
    "Company response to consumer": "company_response",
    "Timely response?": "timely_response",
    "Consumer disputed?": "consumer_disputed",
    "Complaint ID": "complaint_id",
}


def _decode(raw: bytes) -> str:
    """UTF-8, tolerating only a character cut in half at the very end of a truncated file."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(raw) - 3:
            raise
        return raw[: exc.start].decode("utf-8")


def load_cfpb_sample(data_dir: Path | None = None) -> pd.DataFrame:
    """The parseable complaints, columns renamed to snake_case (see COLUMNS), plus `has_narrative`.

    Dates are parsed, `complaint_id` is an int, `timely_response` a bool, `consumer_disputed`
    None where the export says N/A; empty text fields stay empty strings.
    """
    path = require(data_dir, CFPB_FILE, "CFPB complaints sample")
    records = csv_records(_decode(path.read_bytes()))
    header = next(records, None)
    if header is None or list(header.fields) != list(COLUMNS):
        raise DatasetFormatError(path, 1, "header is not the CFPB export schema")
    rows = []
    for record in records:
        if not record.complete:
            log.info("%s:%d dropped: the file ends inside this record (truncated head)", path, record.line)
            continue
        if len(record.fields) != len(COLUMNS):
            log.warning("%s:%d skipped: %d fields, expected %d", path, record.line, len(record.fields), len(COLUMNS))
            continue
        rows.append(record.fields)
    frame = pd.DataFrame(rows, columns=list(COLUMNS.values()))
    for column in ("date_received", "date_sent_to_company"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    frame["complaint_id"] = frame["complaint_id"].astype("int64")
    frame["timely_response"] = frame["timely_response"].map({"Yes": True, "No": False})
    frame["consumer_disputed"] = frame["consumer_disputed"].map({"Yes": True, "No": False, "N/A": None})
    frame["has_narrative"] = frame["narrative"].str.strip() != ""
    return frame
