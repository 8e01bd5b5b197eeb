"""Every test gets its own data dir, store and config; the real engine is shared per session."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


ENGINE_TEST_MODEL = "smollm2-135m"  # the tiny, fast registered model the engine-mechanics tests run on


@pytest.fixture(autouse=True)
def signal_handlers():
    """The console entry point (`writer.cli.main`, run in-process by some tests) installs its own SIGINT and
    SIGTERM handlers and records signals (`writer.stop_signals`); each test gets pytest's handlers back after."""
    from writer import stop_signals

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    stop_signals._received = None


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request):
    """A fresh data dir (store + checkpoints) and no user config for each test.

    Engine-marked tests also get WRITER_MODEL=smollm2-135m. They call `writer compose` (in-process
    and in subprocesses, Ray workers included) and `writer.compose` without a model, and relied on
    that meaning the tiny SmolLM2; the default is now qwen2.5-coder-0.5b. The variable keeps every
    such call on the session's `embedded_engine` (same `get_engine` key) and its subprocesses on the
    same model, without a `--model` on each call. Tests of the default model pass it explicitly.
    WRITER_JUDGE_MODEL likewise: the model judges would otherwise load the strongest installed model
    (judges/engine.py); tests that need a stronger judge name it.
    """
    monkeypatch.setenv("WRITER_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "config.toml").write_text("")  # a config file the user names must exist
    monkeypatch.setenv("WRITER_CONFIG", str(tmp_path / "config.toml"))
    for name in ("WRITER_DB_URL", "WRITER_ENGINE", "WRITER_MODEL", "WRITER_BASE_URL", "WRITER_JUDGE_MODEL",
                 "WRITER_PLAN_MODEL"):
        monkeypatch.delenv(name, raising=False)
    if request.node.get_closest_marker("engine") is not None:
        monkeypatch.setenv("WRITER_MODEL", ENGINE_TEST_MODEL)
        monkeypatch.setenv("WRITER_JUDGE_MODEL", ENGINE_TEST_MODEL)
    return tmp_path


@pytest.fixture
def store():
    from writer.store import Store

    return Store()


@pytest.fixture(scope="session")
def embedded_engine():
    """The real engine on the tiny model (vLLM CPU + smollm2-135m), started once per session and shared."""
    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine

    engine = get_engine(engine_settings(engine="vllm", model=ENGINE_TEST_MODEL))
    yield engine
    close_engines()


@pytest.fixture(scope="session")
def default_engine():
    """The real engine on the default registered model (vLLM CPU + DEFAULT_MODEL), started once per session."""
    from writer.config import engine_settings
    from writer.engines import close_engines, get_engine
    from writer.engines.models import DEFAULT_MODEL

    engine = get_engine(engine_settings(engine="vllm", model=DEFAULT_MODEL))
    yield engine
    close_engines()
