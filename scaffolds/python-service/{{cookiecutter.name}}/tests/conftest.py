"""Fixtures of {{ cookiecutter.name }}'s tests.

`kafka_broker` is the monorepo's real Kafka broker (tests/kafka/conftest.py: one KRaft node on
loopback, SASL_SSL with SCRAM-SHA-512 and a test CA, started once per test session). It is
found by walking up from this folder to the repository, or through STREAMFORGE_REPO=<repo> for
a service outside it. Where there is no repository (an image without Java, for instance) the
Kafka tests skip with the reason, or fail when STREAMFORGE_STRICT=1.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BROKER_FIXTURES = Path("tests") / "kafka" / "conftest.py"


def _repository() -> Path | None:
    explicit = os.environ.get("STREAMFORGE_REPO")
    candidates = [Path(explicit)] if explicit else list(Path(__file__).resolve().parents)
    return next((c for c in candidates if (c / BROKER_FIXTURES).is_file()), None)


def _repository_broker() -> Callable[..., Any] | None:
    repo = _repository()
    if repo is None:
        return None
    name = "_streamforge_kafka_fixtures"
    spec = importlib.util.spec_from_file_location(name, repo / BROKER_FIXTURES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.kafka_broker  # type: ignore[no-any-return]


_broker = _repository_broker()
if _broker is not None:
    kafka_broker = _broker
else:

    @pytest.fixture(scope="session")
    def kafka_broker() -> None:
        reason = (
            "the real Kafka broker comes from the StreamForge repository's tests/kafka; run "
            "these tests inside the repository or set STREAMFORGE_REPO"
        )
        if os.environ.get("STREAMFORGE_STRICT") == "1":
            pytest.fail(f"STREAMFORGE_STRICT=1 and {reason}")
        pytest.skip(reason)
