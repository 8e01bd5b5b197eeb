"""Planning on a model other than the writer's (`plan_model`): outline with a stronger model, write with a fast one.

An outline is one short call, and the one a small model does worst: asked for the history of
public libraries, the 0.5B planned "Introduction, Background, Literature, Technology,
Conclusion"; the 1.5B planned early libraries, their rise with the industrial cities, the modern
era and the future, in order. The sections are most of the tokens, and the small model writes
them several times faster. So a run can plan on its plan model, then write on its writer model.

The plan model runs first and alone: its engine is started, plans, and is closed before the
writer's engine starts, so the two models never hold memory and cores at once. Its call is
recorded in the run like any other (with its model id). A run whose plan is stored (resumed,
a user's `--plan`) or that needs none (a one-section text) never starts the plan model.

The plan model is the one given (`plan_model=`, `--plan-model`), else WRITER_PLAN_MODEL, else
the config file's `plan_model`, else, for a target over AUTO_PLAN_WORDS, the strongest installed
registered model when it is stronger than the writer's (`auto_plan_model`); `none` in any of
these means the writer plans. Why the automatic choice: the 0.5B's own plans for long targets
collapse (1 usable section of 14 asked for a 5,000-word paper; 5 sections of 1,000 words it then
cannot fill), and on six LongBench-Write prompts of 2,000-5,000 words the same 0.5B writer went
from S_l 42 on its own plans to 87 on the 1.5B's (bench/README.md, quality). Up to 2,000 words its
own plans did as well, and the plan model's start and call would only add time.

A dataset job plans all its documents this way before any is written (`plan_runs`: one plan
engine, its calls batched), then writes them; a job uses a plan model only when one is given or
configured. It is for the in-process engine (vllm): a served engine plans with the server's model
(a plan model given for one is refused; one from the environment or config is not used).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from planners.base import one_section_plan
from writer import config
from writer.calls import CallRecorder
from writer.config import EngineSettings
from writer.engines import check_settings, close_engine, get_engine, is_open, settings_for
from writer.engines.batching import shareable
from writer.engines.models import DEFAULT_MODEL, registered_name, strength, strongest_installed
from writer.errors import UsageError
from writer.events import EngineReady, EngineStarting, OnEvent, ignore
from writer.stop_signals import received as stop_received
from writer.store import Store
from writer.text.lengths import TargetLength

__all__ = ["AUTO_PLAN_WORDS", "NO_PLAN_MODEL", "PLAN_MODEL_ENV", "auto_plan_model", "plan_model_choice",
           "plan_model_settings", "plan_runs", "plan_with_model"]

PLAN_MODEL_ENV = "WRITER_PLAN_MODEL"
NO_PLAN_MODEL = "none"  # as a plan model: the writer plans, whatever is configured
AUTO_PLAN_WORDS = 2000  # longer targets are planned on a stronger installed model when none is chosen


def auto_plan_model(writer: EngineSettings, target_words: int | None) -> str | None:
    """The plan model for a target when none is chosen: the strongest installed registered model, for a target
    over AUTO_PLAN_WORDS written by a weaker registered model on the in-process engine; else None."""
    if writer.engine != "vllm" or not target_words or target_words <= AUTO_PLAN_WORDS:
        return None
    mine, best = registered_name(writer.model), strongest_installed()
    if mine is None or best is None or strength(best) <= strength(mine):
        return None
    return best


def plan_model_choice(model: str | None, writer: EngineSettings,
                      target_words: int | None = None) -> tuple[str | None, str]:
    """Which model plans (None: the writer) and where that came from: "given", "environment", "config", "auto"
    (`auto_plan_model`) or "none"."""
    source = "given"
    if model is None:
        model, source = os.environ.get(PLAN_MODEL_ENV) or None, "environment"
    if model is None:
        model, source = config.file_settings().plan_model or None, "config"
    if model is None:
        model, source = auto_plan_model(writer, target_words), "auto"
    if not model or model.strip().lower() == NO_PLAN_MODEL:
        return None, "none"
    return model, source


def plan_model_settings(model: str | None, writer: EngineSettings,
                        target_words: int | None = None) -> EngineSettings | None:
    """The plan model's engine settings (checked: installed, a known folder), or None when the writer plans:
    no plan model given, configured or chosen for `target_words` (`plan_model_choice`), or the same model as
    the writer's."""
    model, source = plan_model_choice(model, writer, target_words)
    given = source == "given"
    if not model or (writer.engine != "vllm" and not given):  # a configured plan model is for in-process runs
        return None
    if writer.engine != "vllm":
        raise UsageError(f"a plan model runs on the in-process engine (vllm), not on {writer.engine}; leave it out "
                         f"to plan with the served model", option="plan_model")
    settings = settings_for("vllm", model)
    if (settings.model or DEFAULT_MODEL) == (writer.model or DEFAULT_MODEL):
        return None
    check_settings(settings)
    return settings


def needs_plan(store: Store, run_id: str) -> bool:
    """Whether run `run_id` has no stored plan and needs one (not a one-section text)."""
    if store.load_plan(run_id) is not None:
        return False
    run = store.get_run(run_id)
    return one_section_plan(run.instruction, TargetLength(run.target_words, run.target_source)) is None


def plan_runs(store: Store, run_ids: Sequence[str], settings: EngineSettings, make_planner, *,
              concurrency: int = 1, keep_going: bool = False, on_event: OnEvent = ignore) -> int:
    """Plan every run in `run_ids` that needs a plan on the plan model and store each plan; returns how many
    were planned. The plan engine starts once (only if a run needs it), plans up to `concurrency` runs at
    once so their calls share its batches, and is closed after, so the writer's engine starts with the
    machine to itself. `keep_going` (a dataset job): a run whose planning raises is left without a plan (the
    writer's model plans it when it is written) and the others go on; Ctrl-C and SIGTERM still stop."""
    todo = [r for r in run_ids if needs_plan(store, r)]
    if not todo:
        return 0
    on_event(EngineStarting(settings.engine, settings.model))
    shared = is_open(settings)  # already open in this process (a judge, a test suite's engine): left open
    engine = get_engine(settings)
    try:
        on_event(EngineReady(engine.name, engine.model_id))
        batched = shareable(engine) if concurrency > 1 else engine

        def plan_one(run_id: str) -> bool:
            run = store.get_run(run_id)
            planner = make_planner(CallRecorder(batched, store, run_id), run.options or {})
            try:
                plan, raw = planner.plan(run.instruction, TargetLength(run.target_words, run.target_source))
            except Exception:
                if not keep_going or stop_received() is not None:
                    raise
                return False
            store.save_plan(run_id, plan, raw)
            return True

        if concurrency > 1 and len(todo) > 1:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(todo)), thread_name_prefix="plan") as pool:
                planned = sum(f.result() for f in [pool.submit(plan_one, r) for r in todo])
        else:
            planned = sum(plan_one(r) for r in todo)
    finally:
        if not shared:
            close_engine(engine)
    return planned


def plan_with_model(store: Store, run_id: str, settings: EngineSettings, make_planner,
                    on_event: OnEvent = ignore) -> None:
    """Plan run `run_id` on the plan model and store the plan, unless it has one or needs none; the plan model's
    engine is closed after, so the writer's engine starts with the machine to itself."""
    plan_runs(store, [run_id], settings, make_planner, on_event=on_event)
