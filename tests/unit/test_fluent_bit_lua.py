"""The Fluent Bit Lua filter (platform/components/fluent-bit/es_index.lua, seed 8.2) run by a
real Lua interpreter on sample records, called the way Fluent Bit calls it: (tag, timestamp,
record) -> (code, timestamp, record)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from typing import Any

import pytest

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO, missing

SCRIPT = REPO / "platform/components/fluent-bit/es_index.lua"
# 2025-08-07 12:00:00 UTC and 2025-08-07 23:59:59.9 UTC
NOON = 1754568000
LAST_SECOND = 1754611199.9
# Lua 5.4 has no JSON: the harness prints "code<TAB>es_index<TAB>es_index_prefix<TAB>log"
HARNESS = """
dofile(arg[1])
local tag, kind, value = arg[2], arg[3], tonumber(arg[4])
local timestamp = value
if kind == "table" then timestamp = {sec = math.floor(value), nsec = 0} end
local code, _, record = es_index(tag, timestamp, {log = "hello"})
print(code .. "\\t" .. record.es_index .. "\\t" .. record.es_index_prefix .. "\\t" .. record.log)
"""


def lua() -> str:
    for name in ("lua5.4", "lua5.3", "lua"):
        found = shutil.which(name)
        if found:
            return found
    missing("no Lua interpreter (Debian package lua5.4)")
    raise AssertionError


def run_filter(tag: str, timestamp: float, kind: str = "number") -> dict[str, Any]:
    result = subprocess.run(
        [lua(), "-", str(SCRIPT), tag, kind, repr(timestamp)],
        input=HARNESS, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    code, index, prefix, log = result.stdout.rstrip("\n").split("\t")
    return {"code": int(code), "es_index": index, "es_index_prefix": prefix, "log": log}


@pytest.mark.parametrize(
    ("tag", "timestamp", "kind", "index"),
    [
        ("internal.myapp", NOON, "number", "internal-myapp-2025.08.07"),  # the seed's example
        ("internal.myapp", LAST_SECOND, "number", "internal-myapp-2025.08.07"),
        ("internal.myapp", NOON, "table", "internal-myapp-2025.08.07"),  # time_as_table
        ("kafka.Strimzi-Operator", NOON, "number", "kafka-strimzi-operator-2025.08.07"),
        ("_private.app", NOON, "number", "private-app-2025.08.07"),
    ],
)
def test_filter_names_the_index_from_tag_and_utc_date(
    tag: str, timestamp: float, kind: str, index: str
) -> None:
    record = run_filter(tag, timestamp, kind)
    assert record["es_index"] == index
    assert record["es_index_prefix"] == index.rsplit("-", 1)[0]
    assert record["code"] == 2  # record changed, Fluent Bit keeps the timestamp
    assert record["log"] == "hello"  # the rest of the record is untouched


def test_next_day_gets_the_next_index() -> None:
    assert run_filter("internal.myapp", LAST_SECOND + 0.2)["es_index"] == (
        "internal-myapp-2025.08.08"
    )


def test_index_names_are_valid_elasticsearch_names() -> None:
    for tag in ("A.B", "x/y*z", "spaces in tag", "a,b#c"):
        name = run_filter(tag, NOON)["es_index"]
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*-\d{4}\.\d{2}\.\d{2}", name), name


def test_the_deployed_config_runs_this_script_and_names_indices_the_same_way() -> None:
    values = render(load_platform(REPO, "homelab"), Facts()).values["fluent-bit"]
    assert values["luaScripts"]["es_index.lua"] == SCRIPT.read_text()
    filters, outputs = values["config"]["filters"], values["config"]["outputs"]
    assert "script /fluent-bit/scripts/es_index.lua" in filters
    assert re.search(r"^\s+call es_index$", filters, re.MULTILINE)
    # the es output's <prefix><separator><date> is the name the filter wrote into es_index
    settings = dict(
        line.split(None, 1)
        for line in map(str.strip, outputs.splitlines())
        if line and not line.startswith(("#", "["))
    )
    assert settings["Logstash_Prefix_Key"] == "$es_index_prefix"
    assert settings["Logstash_DateFormat"] == "%Y.%m.%d"
    record = run_filter("internal.myapp", NOON)
    date = time.strftime(settings["Logstash_DateFormat"], time.gmtime(NOON))
    assert (
        record["es_index_prefix"] + settings["Logstash_Prefix_Separator"] + date
        == (record["es_index"])
    )
    assert json.dumps(record)  # plain data
