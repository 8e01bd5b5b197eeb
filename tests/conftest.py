"""Every test gets its own data dir, store and config; the real engine is shared per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh data dir (store + checkpoints) and no user config for each test."""
    monkeypatch.setenv("WRITER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WRITER_CONFIG", str(tmp_path / "config.toml"))
    for name in ("WRITER_DB_URL", "WRITER_ENGINE", "WRITER_MODEL", "WRITER_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def store():
    from writer.store import Store

    return Store()


@pytest.fixture(scope="session")
def embedded_engine():
    """The real embedded engine (vLLM CPU + SmolLM2-135M), started once per session and shared."""
    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine

    engine = get_engine(engine_settings(engine="vllm"))
    yield engine
    close_engines()
