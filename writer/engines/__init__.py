"""Engines: a name -> class registry (`writer.registry`), fed by the built-ins and by `writer.engines`
entry points.

`get_engine` keeps one engine per settings in the process, so repeated compose calls in
one program (or one test session) pay vLLM's start-up once. `check_settings` validates what an
engine will be built from without building it (model names and folders included), so bad
input is one line before anything runs.
"""

from __future__ import annotations

import atexit
import threading

from writer.config import EngineSettings, engine_settings
from writer.engines import models
from writer.engines.base import ChatRequest, Completion, Engine, Message
from writer.registry import Registry

__all__ = ["ChatRequest", "Completion", "Engine", "Message", "ENGINES", "get_engine", "resolve_engine",
           "engine_names", "check_engine_name", "check_settings", "is_concurrent", "is_open",
           "close_engine", "close_engines"]

ENGINES = Registry("engine", "writer.engines", {
    "vllm": "writer.engines.vllm_engine:VLLMEngine",
    "openai": "writer.engines.openai_engine:OpenAIEngine",
})
_OPEN: dict[tuple, Engine] = {}
_BUILDING = threading.Lock()  # threads asking for the same engine at once (a job's judges) build it once


def engine_names() -> list[str]:
    return ENGINES.names()


def check_engine_name(name: str | None) -> None:
    """UsageError (one line) for an engine name that is neither built in nor a plugin; None is fine."""
    if name is not None:
        ENGINES.check(name)


def check_settings(settings: EngineSettings) -> None:
    """Everything about `settings` that can be checked without building the engine: its name, and for the
    in-process engine a registered model that is installed or a model folder that exists, and vLLM's own
    environment settings."""
    ENGINES.check(settings.engine)
    if settings.engine == "vllm":
        models.resolve(settings.model)
        from writer.engines.vllm_engine import check_environment  # no vLLM import: that module loads it lazily

        check_environment()


def is_concurrent(engine: Engine | str) -> bool:
    """Whether an engine (or the class of an engine name) batches concurrent callers itself."""
    return bool(getattr(engine if isinstance(engine, Engine) else ENGINES.load(engine), "concurrent", False))


def _engine_class(name: str) -> type[Engine]:
    return ENGINES.load(name)


def get_engine(settings: EngineSettings | None = None, **overrides) -> Engine:
    """The engine for `settings` (resolved from env/config when None), reusing an open one."""
    settings = settings or engine_settings(**overrides)
    key = _key(settings)
    if key in _OPEN:
        return _OPEN[key]
    with _BUILDING:
        if key not in _OPEN:
            _OPEN[key] = _build(settings)
    return _OPEN[key]


def _key(settings: EngineSettings) -> tuple:
    # None is the default model: the same key as naming it, so the writer's engine and a judge naming the
    # default model are one engine, never two loads of the same model
    model = settings.model or (models.DEFAULT_MODEL if settings.engine == "vllm" else None)
    return settings.engine, model, settings.base_url, settings.api_key, settings.concurrency


def is_open(settings: EngineSettings) -> bool:
    """Whether `get_engine` already keeps an engine for `settings` (someone else's, not to be closed by you)."""
    return _key(settings) in _OPEN


def _build(settings: EngineSettings) -> Engine:
    cls = _engine_class(settings.engine)
    if settings.engine == "openai":
        engine = cls(base_url=settings.base_url, model=settings.model, api_key=settings.api_key,
                     concurrency=settings.concurrency)
    else:
        engine = cls(model=settings.model)
    if not _OPEN:
        # Registered after vLLM's own multiprocessing hooks, so it runs before them at exit:
        # without it the interpreter waits forever on vLLM's engine process.
        atexit.register(close_engines)
    return engine


def resolve_engine(engine: Engine | str | None = None, model: str | None = None, base_url: str | None = None,
                   api_key: str | None = None, concurrency: int | None = None) -> Engine:
    """An `Engine` instance from an instance, or from a name plus options (env/config fill the rest)."""
    if isinstance(engine, Engine):
        return engine
    return get_engine(settings_for(engine, model, base_url, api_key, concurrency))


def settings_for(engine: str | None = None, model: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, concurrency: int | None = None) -> EngineSettings:
    """The settings a name plus options resolve to (arguments, then environment, then the config file)."""
    return engine_settings(engine=engine, model=model, base_url=base_url, api_key=api_key, concurrency=concurrency)


def close_engine(engine: Engine) -> None:
    """Close `engine`, one `get_engine` opened, so the next model starts with its memory and cores free."""
    for key in [k for k, open_ in _OPEN.items() if open_ is engine]:
        _OPEN.pop(key).close()


def close_engines(names: set[str] | None = None) -> None:
    """Close every engine `get_engine` opened (only those whose engine name is in `names`, when given)."""
    for key in [k for k in _OPEN if names is None or k[0] in names]:
        _OPEN.pop(key).close()
