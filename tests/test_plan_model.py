"""A run planned on its plan model and written on its writer model (`writer.pipeline.planning`). Scripted engines
stand in for both models; which one made each call is in the store."""

from __future__ import annotations

import json

import pytest
from scripted_engine import ScriptedEngine

import writer
from writer.errors import UsageError
from writer.store import Store

PLAN = {"sections": [{"title": "Ancient archives", "main_point": "Temple and palace collections", "words": 300},
                     {"title": "Subscription libraries", "main_point": "Readers who paid to borrow", "words": 300},
                     {"title": "Free to all", "main_point": "Tax-funded libraries of the 1850s", "words": 300}]}
INSTRUCTION = "Write a 900-word article about the history of public libraries."


class Model(ScriptedEngine):
    name = "vllm"

    def __init__(self, model_id: str, log: list, **kwargs):
        super().__init__(**kwargs)
        self.model_id, self.log = model_id, log

    def generate(self, requests):
        self.log.append(("call", self.model_id))
        return super().generate(requests)

    def close(self) -> None:
        self.log.append(("close", self.model_id))
        super().close()


@pytest.fixture
def two_models(monkeypatch):
    """`get_engine` for the plan model and `resolve_engine` for the writer, each a scripted model."""
    log: list = []
    planner = Model("qwen2.5-coder-1.5b", log, plan_reply=PLAN)
    writer_model = Model("qwen2.5-coder-0.5b", log, plan_reply={"sections": []})  # would plan nothing usable
    monkeypatch.setattr("writer.pipeline.planning.check_settings", lambda settings: None)
    monkeypatch.setattr("writer.pipeline.planning.get_engine", lambda settings: planner)
    monkeypatch.setattr("writer.pipeline.planning.close_engine", lambda engine: engine.close())
    monkeypatch.setattr("writer.api.check_settings", lambda settings: None)

    def resolve(engine=None, model=None, *args, **kwargs):
        log.append(("start", model))
        return writer_model

    monkeypatch.setattr("writer.api.resolve_engine", resolve)
    return log


def test_the_plan_model_plans_alone_then_the_writer_writes(two_models):
    result = writer.compose(INSTRUCTION, engine="vllm", model="qwen2.5-coder-0.5b", plan_model="qwen2.5-coder-1.5b")
    assert [s.title for s in result.plan.sections] == ["Ancient archives", "Subscription libraries", "Free to all"]
    # the plan model's one call, its engine closed, and only then the writer's engine started
    assert two_models[:3] == [("call", "qwen2.5-coder-1.5b"), ("close", "qwen2.5-coder-1.5b"),
                              ("start", "qwen2.5-coder-0.5b")]
    assert ("call", "qwen2.5-coder-1.5b") not in two_models[3:]
    calls = Store().calls(result.run_id)
    assert {c.model for c in calls if c.stage == "plan"} == {"qwen2.5-coder-1.5b"}
    assert {c.model for c in calls if c.stage == "write"} == {"qwen2.5-coder-0.5b"}
    assert Store().get_run(result.run_id).options["plan_model"] == "qwen2.5-coder-1.5b"


def test_the_plan_model_comes_from_the_environment(two_models, monkeypatch):
    monkeypatch.setenv("WRITER_PLAN_MODEL", "qwen2.5-coder-1.5b")
    result = writer.compose(INSTRUCTION, engine="vllm", model="qwen2.5-coder-0.5b")
    assert two_models[0] == ("call", "qwen2.5-coder-1.5b") and len(result.plan.sections) == 3


def test_no_plan_model_when_it_is_the_writer_or_the_text_needs_no_plan(two_models):
    writer.compose(INSTRUCTION, engine="vllm", model="qwen2.5-coder-1.5b", plan_model="qwen2.5-coder-1.5b")
    assert ("call", "qwen2.5-coder-1.5b") not in two_models  # the writer (scripted 0.5B here) planned itself
    two_models.clear()
    writer.compose("Write a 150-word note about rain.", engine="vllm", model="qwen2.5-coder-0.5b",
                   plan_model="qwen2.5-coder-1.5b")
    assert ("call", "qwen2.5-coder-1.5b") not in two_models


def test_a_plan_model_is_refused_for_a_served_engine_or_an_engine_instance():
    with pytest.raises(UsageError, match="in-process engine"):
        writer.compose(INSTRUCTION, engine="openai", base_url="http://127.0.0.1:9/v1", model="m",
                       plan_model="qwen2.5-coder-1.5b")
    with pytest.raises(UsageError, match="engine given by name"):
        writer.compose(INSTRUCTION, engine=ScriptedEngine(plan_reply=PLAN), plan_model="qwen2.5-coder-1.5b")


def test_a_dataset_job_plans_every_document_on_the_plan_model_before_the_writer_starts(two_models, tmp_path,
                                                                                        store, monkeypatch):
    """`plan_job`: the plan model plans all the documents (one engine, closed after), then the writer writes them;
    a plan the plan model fails is left to the writer's model."""
    from writer.dataset.jobs import create_job, plan_job, run_job

    lines = [json.dumps({"instruction": f"Write a 900-word article about the history of {topic}.", "length": 900})
             for topic in ("public libraries", "lighthouses", "FAILS")]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    job, _ = create_job(store, tmp_path / "in.jsonl", out=tmp_path / "docs", engine_name="vllm",
                        model="qwen2.5-coder-0.5b", concurrency=3, plan_model="qwen2.5-coder-1.5b")
    log = two_models
    from writer.pipeline import run as run_module

    def make_planner(llm, options):  # the plan model fails the third instruction's plan
        planner = run_module.make_planner(llm, options)
        plan = planner.plan

        def failing(instruction, target):
            if "FAILS" in instruction:
                raise RuntimeError("plan model hiccup")
            return plan(instruction, target)

        planner.plan = failing
        return planner

    monkeypatch.setattr("writer.dataset.jobs.make_planner", make_planner)
    assert plan_job(store, job) == 2
    assert log[-1] == ("close", "qwen2.5-coder-1.5b")  # closed before any writing
    items = store.job_items(job)
    assert all(it.run_id for it in items) and all(it.status == "pending" for it in items)
    planned = [store.load_plan(it.run_id) for it in items]
    assert [p is not None for p in planned] == [True, True, False]
    assert [s.title for s in planned[0].sections] == ["Ancient archives", "Subscription libraries", "Free to all"]
    writer_model = Model("qwen2.5-coder-0.5b", [], plan_reply=PLAN)
    status = run_job(store, job, writer_model)
    assert status.counts["done"] == 3
    for it, plan in zip(store.job_items(job), planned):
        assert store.get_run(it.run_id).options["plan_model"] == "qwen2.5-coder-1.5b"
        plan_calls = {c.model for c in store.calls(it.run_id) if c.stage == "plan"}
        assert plan_calls == ({"qwen2.5-coder-1.5b"} if plan is not None else {"qwen2.5-coder-0.5b"})


LONG = "Write a 2500-word article about the history of public libraries."


@pytest.fixture
def strongest(monkeypatch):
    """The 1.5B installed (the strongest registered model), whatever this machine has."""
    monkeypatch.setattr("writer.pipeline.planning.strongest_installed", lambda: "qwen2.5-coder-1.5b")
    monkeypatch.delenv("WRITER_PLAN_MODEL", raising=False)


def test_a_long_target_is_planned_on_the_strongest_installed_model(two_models, strongest):
    result = writer.compose(LONG, engine="vllm", model="qwen2.5-coder-0.5b")
    calls = Store().calls(result.run_id)
    assert {c.model for c in calls if c.stage == "plan"} == {"qwen2.5-coder-1.5b"}
    assert {c.model for c in calls if c.stage == "write"} == {"qwen2.5-coder-0.5b"}
    assert two_models.index(("close", "qwen2.5-coder-1.5b")) < two_models.index(("start", "qwen2.5-coder-0.5b"))


@pytest.mark.parametrize("words, writer_model, plan_model, planner", [
    (2000, "qwen2.5-coder-0.5b", None, None),  # not over AUTO_PLAN_WORDS: the writer plans
    (2500, "qwen2.5-coder-1.5b", None, None),  # the writer is the strongest
    (2500, "/models/my-model", None, None),  # a folder: its strength is unknown
    (2500, "qwen2.5-coder-0.5b", "none", None),  # turned off
    (2500, "qwen2.5-coder-0.5b", "smollm2-135m", "smollm2-135m"),  # a chosen one wins, weaker or not
    (2500, "qwen2.5-coder-0.5b", None, "qwen2.5-coder-1.5b"),
])
def test_which_model_plans(strongest, monkeypatch, words, writer_model, plan_model, planner):
    from writer.engines import settings_for
    from writer.pipeline.planning import plan_model_choice

    monkeypatch.setattr("writer.pipeline.planning.registered_name",
                        lambda model: None if model.startswith("/") else model)
    assert plan_model_choice(plan_model, settings_for("vllm", writer_model), words)[0] == planner


def test_none_in_the_environment_turns_the_automatic_choice_off(strongest, monkeypatch):
    from writer.engines import settings_for
    from writer.pipeline.planning import plan_model_choice

    monkeypatch.setenv("WRITER_PLAN_MODEL", "none")
    assert plan_model_choice(None, settings_for("vllm", "qwen2.5-coder-0.5b"), 5000) == (None, "none")
    assert plan_model_choice(None, settings_for("openai", "m", "http://127.0.0.1:9/v1"), 5000)[0] is None


def test_compose_says_on_stderr_which_model_plans_a_long_target(strongest, monkeypatch):
    from typer.testing import CliRunner

    from writer.cli import app

    def stop(*args, **kwargs):
        raise SystemExit(0)  # the note is printed before the compose starts; the compose itself is tested above

    monkeypatch.setattr("writer.api.compose", stop)
    result = CliRunner().invoke(app, ["compose", LONG, "-m", "qwen2.5-coder-0.5b"])
    assert ("note: a 2500-word target: qwen2.5-coder-1.5b, the strongest installed model, plans it and "
            "qwen2.5-coder-0.5b writes it (--plan-model none: the writer plans)") in " ".join(result.output.split())
