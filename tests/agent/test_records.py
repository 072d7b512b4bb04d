"""The secRMM record renders exactly what the real sample rows hold."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from agent.records import (
    EVENTS,
    POSTED_FIELDS,
    Category,
    RecordError,
    SecRMMRecord,
    connection_test_record,
    event_type,
    format_last_write,
    format_time,
    normalise_posted,
)

#: ``../shared`` beside the project's root, as every developer and CI run has it.
SAMPLE_FILE = (
    Path(__file__).parents[2].parent / "shared" / "reference" / "secRMM_CL.sample.json"
)


def _stored_to_posted(row: dict[str, object]) -> dict[str, object]:
    posted = {}
    for name in POSTED_FIELDS:
        stored = name if name in ("Computer", "Message") else f"{name}_s"
        posted[name] = row[stored]
    return posted


@pytest.fixture(scope="module")
def sample_rows() -> list[dict[str, object]]:
    if not SAMPLE_FILE.exists():
        pytest.fail(
            f"the reference rows are missing: {SAMPLE_FILE} (CI lays ../shared)"
        )
    return json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))


def _row(rows: list[dict[str, object]], event: str) -> dict[str, object]:
    return next(row for row in rows if row["Event_s"] == event)


def test_write_completed_record_renders_the_sample_row(sample_rows):
    record = SecRMMRecord(
        event="WRITE COMPLETED",
        time=datetime(2020, 2, 9, 16, 6, 4),
        user="CONTOSO\\Administrator",
        user_sid="S-1-5-21-194330278-343332919-2867172138-500",
        drive="E:",
        volume="\\Device\\HarddiskVolume6",
        device_description="Removable Disk Removable Media Win32_LogicalDisk USB2.0",
        serial_number="4C530001060623106322",
        model="SanDisk Cruzer Glide USB Device",
        internal_id="USBSTOR\\DISK&VEN_SANDISK&PROD_CRUZER_GLIDE&REV_1.00"
        "\\4C530001060623106322&0",
        target_file="E:\\Sales for Q4 2019.xlsx",
        source_file="C:\\_MyCorporation\\Sales for Q4 2019.xlsx",
        source_file_size=9140,
        source_file_last_write=datetime(2017, 4, 3, 10, 33, 28),
        program_name="C:\\WINDOWS\\Explorer.EXE",
        program_pid=9736,
        additional_program_info="COPY",
        computer="secRMMDemo1.CONTOSO.com",
    )
    expected = _stored_to_posted(_row(sample_rows, "WRITE COMPLETED"))
    posted = record.posted()
    assert posted == expected
    assert list(posted) == list(POSTED_FIELDS)


def test_program_name_quotes_are_escaped_like_the_sample(sample_rows):
    record = SecRMMRecord(program_name='"E:\\HOLD\\RunMe.cmd"')
    stored = _row(sample_rows, "BLOCK PROGRAMS ON DEVICE ACTIVE")
    assert record.posted()["ProgramName"] == stored["ProgramName_s"]


def test_connection_test_record_matches_the_sample_test_row(sample_rows):
    expected = _stored_to_posted(_row(sample_rows, ""))
    assert connection_test_record("SECRMMDEMO1", "Administrator") == expected


def test_every_sample_time_round_trips_through_format_time(sample_rows):
    for row in sample_rows:
        text = row["Time_s"]
        if not text:
            continue
        moment = datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")
        assert format_time(moment) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2020, 2, 9, 0, 5, 9), "2/9/2020 12:05:09 AM"),
        (datetime(2020, 12, 31, 12, 0, 0), "12/31/2020 12:00:00 PM"),
        (datetime(2021, 1, 1, 23, 59, 59), "1/1/2021 11:59:59 PM"),
    ],
)
def test_time_has_no_padding_and_a_twelve_hour_clock(moment, text):
    assert format_time(moment) == text


def test_last_write_is_zero_padded_and_24_hour():
    assert format_last_write(datetime(2016, 7, 3, 2, 9, 6)) == "07/03/2016 02:09:06"


def test_vocabulary_covers_every_sample_event_and_category(sample_rows):
    assert {row["Event_s"] for row in sample_rows} <= {e.text for e in EVENTS}
    assert {e.category for e in EVENTS if e.category} == set(Category) - {
        Category.LICENSING
    }
    assert event_type("ONLINE").event_id == 400
    assert event_type("online") is None


def test_normalise_fills_missing_fields_and_keeps_numbers():
    record, truncated = normalise_posted(
        {"Event": "ONLINE", "ProgramPID": 12}, field_limit=100
    )
    assert list(record) == list(POSTED_FIELDS)
    assert record["ProgramPID"] == 12
    assert record["Drive"] == ""
    assert truncated == 0


def test_normalise_truncates_on_a_character_boundary_and_counts():
    record, truncated = normalise_posted({"Message": "é" * 10}, field_limit=5)
    assert record["Message"] == "éé"
    assert truncated == 1


@pytest.mark.parametrize(
    "value",
    [{"Bogus": "x"}, {"Event": 3}, {"ProgramPID": -1}, {"ProgramPID": True}, [1]],
)
def test_normalise_refuses_what_secrmm_never_posts(value):
    with pytest.raises(RecordError):
        normalise_posted(value, field_limit=100)


def test_numbers_go_as_text_for_tables_with_declared_string_columns():
    record, _ = normalise_posted(
        {"SourceFileSize": 9140, "ProgramPID": 12},
        field_limit=100,
        numbers_as_text=True,
    )
    assert (record["SourceFileSize"], record["ProgramPID"]) == ("9140", "12")
