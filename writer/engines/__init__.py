"""Engines: a name -> class registry, fed by the built-ins and by `writer.engines` entry points.

`get_engine` keeps one engine per settings in the process, so repeated compose calls in
one program (or one test session) pay vLLM's start-up once.
"""

from __future__ import annotations

import atexit
import importlib
from importlib.metadata import entry_points

from writer.config import EngineSettings, engine_settings
from writer.engines.base import ChatRequest, Completion, Engine, Message
from writer.errors import EngineConfigError, UsageError

__all__ = ["ChatRequest", "Completion", "Engine", "Message", "get_engine", "engine_names", "check_engine_name",
           "close_engines"]

_BUILTIN = {
    "vllm": "writer.engines.vllm_engine:VLLMEngine",
    "openai": "writer.engines.openai_engine:OpenAIEngine",
}
_OPEN: dict[tuple, Engine] = {}


def engine_names() -> list[str]:
    names = set(_BUILTIN)
    names.update(ep.name for ep in entry_points(group="writer.engines"))
    return sorted(names)


def check_engine_name(name: str | None) -> None:
    """UsageError (one line) for an engine name that is neither built in nor a plugin; None is fine."""
    if name is not None and name not in engine_names():
        raise UsageError(f"unknown engine {name!r}; choose one of: {', '.join(engine_names())}")


def _engine_class(name: str) -> type[Engine]:
    target = _BUILTIN.get(name)
    if target is None:
        for ep in entry_points(group="writer.engines"):
            if ep.name == name:
                return ep.load()
        raise EngineConfigError(f"unknown engine {name!r}; choose one of: {', '.join(engine_names())}")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def get_engine(settings: EngineSettings | None = None, **overrides) -> Engine:
    """The engine for `settings` (resolved from env/config when None), reusing an open one."""
    settings = settings or engine_settings(**overrides)
    key = (settings.engine, settings.model, settings.base_url, settings.api_key, settings.concurrency)
    if key in _OPEN:
        return _OPEN[key]
    cls = _engine_class(settings.engine)
    if settings.engine == "openai":
        engine = cls(base_url=settings.base_url, model=settings.model, api_key=settings.api_key,
                     concurrency=settings.concurrency)
    elif settings.engine == "vllm":
        engine = cls(model=settings.model, **settings.extra)
    else:
        engine = cls(**{"model": settings.model, **settings.extra})
    if not _OPEN:
        # Registered after vLLM's own multiprocessing hooks, so it runs before them at exit:
        # without it the interpreter waits forever on vLLM's engine process.
        atexit.register(close_engines)
    _OPEN[key] = engine
    return engine


def close_engines() -> None:
    """Close every engine `get_engine` opened."""
    while _OPEN:
        _, engine = _OPEN.popitem()
        engine.close()
