"""Every benchmark's schema error is a `runrecord.SchemaError`, so one `except` catches them all."""

from __future__ import annotations

import pytest

from fairreason_tasks.core import bbq, cbbq, data, mathverse, vlbias
from fairreason_tasks.runrecord import FairreasonError, SchemaError

PARSERS = {
    "bbq": lambda: bbq.parse_record({}, source="bbq.jsonl", line=3),
    "cbbq": lambda: cbbq.parse_row({}, category="age", condition="ambiguous", source="age.csv", line=3),
    "vlbias": lambda: vlbias.parse_record({}, category="Age", subset="base", source="Age.json", index=3),
    "mathverse": lambda: mathverse.parse_record({}, source="testmini.json", index=3),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_a_record_that_breaks_a_schema_raises_a_schema_error_naming_file_and_place(name):
    with pytest.raises(SchemaError, match=r"\.(jsonl|csv|json)(:| record )3: field ") as raised:
        PARSERS[name]()
    assert isinstance(raised.value, ValueError)  # callers that caught ValueError still do


def test_data_error_is_a_fairreason_error_and_still_a_runtime_error():
    assert issubclass(data.DataError, FairreasonError)
    assert issubclass(data.DataError, RuntimeError)
