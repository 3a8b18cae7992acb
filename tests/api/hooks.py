"""Real data where the document cannot describe it (scripts/api-test.sh loads this module
through SCHEMATHESIS_HOOKS).

- An upload: half of the schema-valid raw uploads (chosen by a checksum of the generated
  bytes, so a seed repeats the same choice) carry a real component (a copy of the example `hello`);
  the rest, and every multipart form (whose negative cases schemathesis derives from the
  positive ones, so that a real component there would make a "negative" case valid), stay
  random bytes, which the server refuses with 422.
- An agent's interval and a part's end: their `delta` and `status` are Loadwright's own
  encodings, which the document leaves as objects; every schema-valid case carries the
  interval and final status of a real run (the result file the script wrote).
"""

import json
import os
import zlib

import schemathesis
from schemathesis import GenerationMode
from schemathesis.transport.serialization import Binary

with open(os.environ["API_COMPONENT"], "rb") as file:
    COMPONENT = file.read()


def _result_records():
    records = {}
    with open(os.environ["API_RESULT_FILE"]) as file:
        for line in file:
            record = json.loads(line)
            records.update(record)
    return records


RESULT = _result_records()


def _positive(case):
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook("map_case").apply_to(operation_id="uploadScenario")
def real_component(context, case):
    if not _positive(case):
        return case
    generated = case.body
    if isinstance(generated, Binary) and zlib.crc32(generated.data) % 2 == 1:
        case.body = Binary(COMPONENT)
    return case


@schemathesis.hook("map_case").apply_to(operation_id=["handInPartInterval", "endPart"])
def real_part_records(context, case):
    if not _positive(case) or not isinstance(case.body, dict):
        return case
    if "delta" in case.body:
        case.body = {**case.body, "delta": RESULT["interval"]}
    if "status" in case.body:
        case.body = {**case.body, "status": RESULT["end"]["status"]}
    return case
