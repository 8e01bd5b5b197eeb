"""The judge model (judges/engine.py): which model judges and why, the writer's engine reused when it is the same
model, the judge engine started once (`get_engine`), and dataset jobs and `--candidates` judging on it. Scripted
engines stand in for vLLM: `get_engine` and the installed-model checks are replaced, so nothing loads."""

from __future__ import annotations

import json
import threading

import pytest
from scripted_engine import ScriptedEngine
from test_dataset_jobs import PLAN, good_file

import judges.engine
import writer.engines
from judges import judge
from judges.engine import choose_judge_model, judge_engine
from writer.artifacts import Plan, PlannedSection
from writer.calls import CallRecorder
from writer.config import EngineSettings
from writer.dataset.jobs import create_job, run_job
from writer.engines.models import DEFAULT_MODEL
from writer.errors import UsageError
from writer.pipeline.drafting import pick_best


class FakeVLLM(ScriptedEngine):
    """A scripted engine that says it is the in-process engine on `model`."""

    name = "vllm"

    def __init__(self, model: str, **kwargs):
        super().__init__(**kwargs)
        self.model_id = model


@pytest.fixture
def engines(monkeypatch):
    """`get_engine` in judges.engine builds FakeVLLM engines (once per model, as the real one keeps them); the
    strongest installed model is "big"; every model name passes the installed check."""
    built: dict[str, FakeVLLM] = {}

    def get_engine(settings):
        if settings.model not in built:
            built[settings.model] = FakeVLLM(settings.model, reply=_reply)
        return built[settings.model]

    monkeypatch.setattr(judges.engine, "get_engine", get_engine)
    monkeypatch.setattr(judges.engine, "check_settings", lambda settings: None)
    monkeypatch.setattr(judges.engine, "strongest_installed", lambda: "big")
    return built


def _reply(req) -> str:
    props = req.json_schema["properties"]
    if "items" in props:
        n = props["items"]["minItems"]
        return json.dumps({"items": [{"reason": "Mostly.", "score": 0.75} for _ in range(n)]})
    if "better" in props:
        return json.dumps({"reason": "A is better.", "better": "A"})
    return json.dumps({"analysis": "Fine.", **{k: 4 for k in props if k != "analysis"}})


def test_which_model_judges_and_why(engines, monkeypatch, isolated):
    assert choose_judge_model().label == "big (strongest installed)"
    assert choose_judge_model(model="small").label == "small (given)"
    (isolated / "config.toml").write_text('judge_model = "from-config"\n')
    assert choose_judge_model().label == "from-config (config judge_model)"
    monkeypatch.setenv("WRITER_JUDGE_MODEL", "from-env")
    assert choose_judge_model().label == "from-env (WRITER_JUDGE_MODEL)"
    assert choose_judge_model(model="small").label == "small (given)"
    with pytest.raises(UsageError, match="unknown engine"):
        choose_judge_model(engine="nope")


def test_the_judgment_names_its_judge_model(engines, store):
    j = judge("Some text to judge. " * 20, instruction="Write about tides.", judges=["quality"], store=store)
    assert (j.judge_model, j.judge_model_source, j.judge_engine) == ("big", "strongest installed", "vllm")
    assert list(engines) == ["big"]


def test_the_writers_engine_judges_when_it_is_the_judge_model(engines):
    writer_engine = FakeVLLM("big")
    choice = choose_judge_model(writer=writer_engine)
    assert choice.instance is writer_engine and judge_engine(choice) is writer_engine
    assert not engines  # nothing else was started
    other = FakeVLLM("small")
    assert judge_engine(choose_judge_model(writer=other)) is engines["big"]
    # a writer that is not the in-process engine judges its own text unless a judge model is named
    scripted = ScriptedEngine()
    assert judge_engine(choose_judge_model(writer=scripted)) is scripted
    assert judge_engine(choose_judge_model(model="big", writer=scripted)) is engines["big"]


def test_get_engine_builds_one_engine_per_model(monkeypatch):
    builds = []

    def build(settings):
        builds.append(settings.model)
        threading.Event().wait(0.05)  # slow enough for the threads below to meet
        return ScriptedEngine()

    monkeypatch.setattr(writer.engines, "_build", build)
    monkeypatch.setattr(writer.engines, "_OPEN", {})
    a = writer.engines.get_engine(EngineSettings(model=None))
    assert writer.engines.get_engine(EngineSettings(model=DEFAULT_MODEL)) is a  # None is the default model
    got = []
    threads = [threading.Thread(target=lambda: got.append(writer.engines.get_engine(EngineSettings(model="judge"))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == [None, "judge"] and len({id(e) for e in got}) == 1


def test_a_job_judges_on_the_judge_model_started_once(engines, tmp_path, store, monkeypatch):
    calls = []
    real = judges.engine.get_engine
    monkeypatch.setattr(judges.engine, "get_engine", lambda settings: calls.append(settings.model) or real(settings))
    writer_engine = ScriptedEngine(plan_reply=PLAN)
    job, _ = create_job(store, good_file(tmp_path, n=2), out=tmp_path / "docs", engine_name="scripted",
                        model="scripted-model", samples=2, concurrency=4, judges=["length", "quality", "pairwise"],
                        judge_model="big")
    status = run_job(store, job, writer_engine)
    assert status.counts["done"] == 4, status.errors
    assert calls == ["big"]  # resolved and started once for the whole job
    judge_calls = engines["big"].requests
    assert sum("better" in r.json_schema["properties"] for r in judge_calls) == 4  # 2 instructions x 1 pair x 2 orders
    assert not any(r.json_schema and "analysis" in r.json_schema.get("properties", {})
                   for r in writer_engine.requests)  # the writer never judged
    items = store.job_items(job)
    assert all(it.scores.get("quality") == 75.0 for it in items)
    verdicts = [r for it in items for r in store.judgments(it.run_id) if r.judge == "pairwise"]
    assert len(verdicts) == 2 and all(v.details["judge_model"] == "big" for v in verdicts)
    # a resumed job does not compare the same samples again
    from writer.dataset.judging import judge_job_pairs

    assert judge_job_pairs(store, job, engines["big"]) == 0


def test_candidates_are_judged_on_the_judge_model(engines, monkeypatch):
    monkeypatch.setenv("WRITER_JUDGE_MODEL", "big")
    writer_engine = ScriptedEngine()
    plan = Plan(instruction="Write about tides.", target_words=100,
                sections=[PlannedSection(title="Tides", main_point="What moves the sea", words=100)])
    best, records = pick_best(CallRecorder(writer_engine), plan, 0, ["First draft. " * 20, "Second draft. " * 20])
    assert len(records) == 2 and all("checklist" in r["scores"] for r in records)
    assert len(engines["big"].requests) == 2 and not writer_engine.requests


def test_calibrate_scores_labelled_texts_on_the_judge_model(engines, monkeypatch):
    """The shipped labels (the benchmark's degraded twins): the checklist judge scores every text in one batch on
    the judge model, then the weights are fitted; the fit reports R² and the ranking share before and after."""
    from pathlib import Path

    from typer.testing import CliRunner

    from writer.cli import app

    def reply(req):  # a judge that gives the looping, cut and padded texts lower marks on some items
        prompt = req.messages[-1].content
        n = req.json_schema["properties"]["items"]["minItems"]
        bad = [prompt.count("In conclusion") > 1, "Sure!" in prompt, len(set(prompt.split("."))) < 40,
               not prompt.rstrip().rstrip("]").strip().endswith(".")]
        scores = [0.25 if bad[k % len(bad)] else 1 for k in range(n)]
        return json.dumps({"items": [{"reason": "Checked.", "score": s} for s in scores]})

    monkeypatch.setitem(globals(), "_reply", reply)  # what the fixture's engines answer with
    labels = Path(__file__).parent / "fixtures" / "checklist_labels.jsonl"
    res = CliRunner().invoke(app, ["judge", "calibrate", str(labels), "--judge-model", "big", "--json"])
    assert res.exit_code == 0, res.output
    assert res.stderr.strip() == "judge model: big (given)"
    (fit,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert fit["category"] == "blog" and fit["n"] == 40 and len(fit["weights"]) == 7
    assert 0 < fit["ranked_before"] <= fit["ranked_after"] <= 1 and fit["r2"] >= fit["r2_before"]
    assert len(engines["big"].requests) == 40  # one batch, every labelled text
