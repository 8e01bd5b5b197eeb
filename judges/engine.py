"""Which model judges: a judge model separate from the writer's, by default the strongest installed local model.

A small model cannot tell its own good text from its bad (bench/judges.py), so the model judges
(quality, checklist, pairwise, clear) run on the judge model: the one given (`--judge-model`,
`model=`), else WRITER_JUDGE_MODEL, else the config file's `judge_model`, else, on the in-process
engine, the strongest registered model that is installed (`writer.engines.models.strongest_installed`).
On a served engine (openai) with none of these, the judge is the server's model, as for the writer.

Engines come from `writer.engines.get_engine`, which keeps one per settings in the process: when the
judge model is the writer's model the writer's engine judges (and, handed in as `writer`, the very
instance, with its batching wrapper); otherwise the judge model's engine is started once, on first
use, and reused by every later verdict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from writer import config
from writer.config import EngineSettings
from writer.engines import Engine, check_engine_name, check_settings, get_engine, settings_for
from writer.engines.models import DEFAULT_MODEL, strongest_installed

__all__ = ["JudgeModelChoice", "choose_judge_model", "judge_engine", "JUDGE_MODEL_ENV"]

JUDGE_MODEL_ENV = "WRITER_JUDGE_MODEL"


@dataclass(frozen=True)
class JudgeModelChoice:
    """The judge engine's settings and why that model (`source`), or the engine instance to judge with."""

    settings: EngineSettings | None
    source: str  # "given", "WRITER_JUDGE_MODEL", "config judge_model", "strongest installed", "writer's model"
    instance: Engine | None = None

    @property
    def model(self) -> str:
        """The judge model's name as the store records it."""
        if self.instance is not None:
            return self.instance.model_id
        return self.settings.model or (DEFAULT_MODEL if self.settings.engine == "vllm" else "default")

    @property
    def label(self) -> str:
        """e.g. `qwen2.5-coder-1.5b (strongest installed)`, for a CLI's stderr."""
        return f"{self.model} ({self.source})"


def _configured() -> tuple[str | None, str]:
    if os.environ.get(JUDGE_MODEL_ENV):
        return os.environ[JUDGE_MODEL_ENV], JUDGE_MODEL_ENV
    value = config.file_settings().judge_model
    return (str(value), "config judge_model") if value else (None, "")


def _same(writer: Engine, settings: EngineSettings) -> bool:
    """Whether `writer` is already the engine `settings` describe (same kind, same model)."""
    if writer.name != settings.engine:
        return False
    if settings.engine == "vllm":
        return writer.model_id == (settings.model or DEFAULT_MODEL)
    return writer.model_id == settings.model and getattr(writer, "base_url", None) == settings.base_url


def choose_judge_model(engine: str | None = None, model: str | None = None, base_url: str | None = None,
                       writer: Engine | None = None) -> JudgeModelChoice:
    """The judge model for these options, checked (engine name, model installed) but not started.

    Args:
        engine, model, base_url: the judge engine's options (`--judge-engine`, `--judge-model`,
            `--judge-base-url`); None fills each from the environment and config.
        writer: the engine writing the documents, reused when it is the judge model's engine; its kind and
            server are the judge's unless `engine` is given. A writer that is not the in-process engine (a
            served model, a plugin, a scripted test engine) judges its own text unless a judge model is named.
    Returns:
        a `JudgeModelChoice`; `judge_engine` turns it into an engine.
    """
    check_engine_name(engine)
    source = "given"
    if model is None:
        model, source = _configured()
    if writer is not None and engine is None:
        if model is None and writer.name != "vllm":
            return JudgeModelChoice(None, "writer's engine", writer)
        if writer.name in ("vllm", "openai"):
            engine = writer.name
            base_url = base_url or getattr(writer, "base_url", None)
    settings = settings_for(engine, model, base_url)
    if model is None:
        if settings.engine == "vllm" and strongest_installed() is not None:
            settings = settings_for(engine, strongest_installed(), base_url)
            source = "strongest installed"
        else:
            source = "writer's model"
    check_settings(settings)
    if writer is not None and _same(writer, settings):
        return JudgeModelChoice(settings, source, writer)
    return JudgeModelChoice(settings, source)


def judge_engine(choice: JudgeModelChoice) -> Engine:
    """The engine of `choice`: the writer's instance when it is the same model, else one `get_engine` keeps."""
    return choice.instance if choice.instance is not None else get_engine(choice.settings)
