"""Dataset exports (datasets_out): SFT/DPO/lengthen records, filters, dedupe, files and card. No engine:
jobs, runs, plans, sections and role records are written straight into the store."""

from __future__ import annotations

import json
import random

import pytest

from datasets_out.card import length_counts, score_counts
from datasets_out.export import export_job
from datasets_out.filters import duplicate_reasons, filter_reason
from datasets_out.records import Document, RolePair, best_and_worst, extend_prompt, lengthen_record
from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.errors import UnknownJobError, UsageError
from writer.text.lengths import count_words

VOCAB = [f"{a}{b}" for a in ("river", "stone", "light", "cloud", "field", "ember", "glass", "north", "quiet", "amber")
         for b in ("wood", "fall", "song", "path", "gate", "mark", "line", "ward", "moor", "vale")]


def prose(seed: int, words: int = 120) -> str:
    """Distinct text for each seed: random words from a 100-word vocabulary, in sentences."""
    rng = random.Random(seed)
    tokens = [rng.choice(VOCAB) for _ in range(words)]
    return " ".join(" ".join(tokens[i:i + 12]).capitalize() + "." for i in range(0, words, 12))


def make_run(store, instruction: str, text: str, title: str = "Overview", main_point: str = "The main idea",
             roles: list[dict] | None = None) -> str:
    """A finished one-section run whose document is `text`, with optional Self-Lengthen role records."""
    run_id = store.create_run(instruction, 1000, "option", "fake", "fake-model")
    store.save_plan(run_id, Plan(instruction=instruction, target_words=1000,
                                 sections=[PlannedSection(title=title, main_point=main_point, words=1000)]))
    store.save_section(run_id, WrittenSection(index=0, title=title, text=text, words=count_words(text)))
    if roles:
        store.save_role_records(run_id, 0, roles)
    store.update_run(run_id, status="done")
    return run_id


def make_job(store, job_id: str, docs: list[dict]) -> None:
    """A job whose items are `docs` (line, sample, instruction, required_words, words, scores, text[, roles,
    status]); done items get a run holding their text."""
    items = [{"line": d["line"], "sample": d["sample"], "instruction": d["instruction"],
              "required_words": d["required_words"], "category": d.get("category"), "extra": d.get("extra", {})}
             for d in docs]
    store.create_job(job_id, "instructions.jsonl", "vllm", "fake-model", {"samples": 2}, items, [])
    rows = {(r.line, r.sample): r for r in store.job_items(job_id)}
    for d in docs:
        status = d.get("status", "done")
        if status != "done":
            store.update_item(rows[d["line"], d["sample"]].id, status=status)
            continue
        run_id = make_run(store, d["instruction"], d["text"], roles=d.get("roles"))
        store.update_item(rows[d["line"], d["sample"]].id, status="done", run_id=run_id, words=d["words"],
                          scores=d["scores"])


def _scores(score: float | None, length: float = 90.0) -> dict:
    return {} if score is None else {"length": length, "rules": 2 * score - length, "score": score}


ESSAY, STORY, EXPLAIN = "Write an essay about rivers.", "Write a story about a lighthouse.", "Explain photosynthesis."
# line 1: a clear pair (90 vs 60); line 2: too close to pair (80 vs 78); line 3: one scored sample only
STANDARD = [
    dict(line=1, sample=0, instruction=ESSAY, required_words=1000, words=1000, scores=_scores(90), category="essay",
         extra={"lang": "en"}),
    dict(line=1, sample=1, instruction=ESSAY, required_words=1000, words=600, scores=_scores(60), category="essay"),
    dict(line=2, sample=0, instruction=STORY, required_words=2000, words=2100, scores=_scores(80)),
    dict(line=2, sample=1, instruction=STORY, required_words=2000, words=2000, scores=_scores(78)),
    dict(line=3, sample=0, instruction=EXPLAIN, required_words=500, words=450, scores=_scores(70, length=85.0)),
    dict(line=3, sample=1, instruction=EXPLAIN, required_words=500, words=500, scores=_scores(None)),
    dict(line=4, sample=0, instruction="Never finished.", required_words=800, status="failed"),
    dict(line=4, sample=1, instruction="Never finished.", required_words=800, status="pending"),
]


@pytest.fixture
def job(store):
    docs = [dict(d, text=prose(seed)) for seed, d in enumerate(STANDARD)]
    make_job(store, "job1", docs)
    return {(d["line"], d["sample"]): d for d in docs}


def load(path, to: str, tmp_path):
    import datasets

    return datasets.load_dataset("json" if to == "jsonl" else "parquet", data_files=str(path), split="train",
                                 cache_dir=str(tmp_path / "hf-cache"))


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


SFT_COLUMNS = ["messages", "instruction", "required_words", "words", "length_ratio", "category", "score",
               "length_score", "scores_json", "extra_json", "job", "line", "sample", "run_id", "model"]
DPO_COLUMNS = ["prompt", "chosen", "rejected", "chosen_score", "rejected_score", "margin", "required_words",
               "chosen_words", "rejected_words", "category", "extra_json", "job", "line", "chosen_sample",
               "rejected_sample", "chosen_run_id", "rejected_run_id", "model"]
LENGTHEN_COLUMNS = ["role", "messages", "input_words", "output_words", "instruction", "category", "score", "job",
                    "line", "sample", "run_id", "section", "model"]


# SFT
@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_sft_export_loads_with_datasets(store, job, to, tmp_path):
    report = export_job(store, "job1", "sft", to, tmp_path / "out")
    assert report.path == tmp_path / "out" / f"sft.{to}"
    assert report.card_path == tmp_path / "out" / "README.md"
    assert report.records == 6
    assert report.dropped == {"no_text": 0, "length_ratio": 0, "min_score": 0, "exact_duplicate": 0,
                              "near_duplicate": 0}
    ds = load(report.path, to, tmp_path)
    assert ds.num_rows == 6
    assert ds.column_names == SFT_COLUMNS
    assert [(r["line"], r["sample"]) for r in ds] == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    first = ds[0]
    assert first["messages"] == [{"role": "user", "content": ESSAY},
                                 {"role": "assistant", "content": job[1, 0]["text"].strip() + "\n"}]
    assert (first["required_words"], first["words"], first["length_ratio"]) == (1000, 1000, 1.0)
    assert (first["score"], first["length_score"], first["category"]) == (90.0, 90.0, "essay")
    assert json.loads(first["scores_json"]) == {"length": 90.0, "rules": 90.0, "score": 90.0}
    assert json.loads(first["extra_json"]) == {"lang": "en"}
    assert (first["job"], first["model"]) == ("job1", "fake-model")
    assert first["run_id"] == store.job_items("job1")[0].run_id
    assert ds[1]["length_ratio"] == 0.6
    unscored = ds[5]
    assert (unscored["score"], unscored["length_score"], unscored["scores_json"]) == (None, None, "{}")
    assert unscored["category"] is None


def test_length_ratio_window_is_inclusive(store, job, tmp_path):
    # ratios: 1.0, 0.6, 1.05, 1.0, 0.9, 1.0 -> the window [0.9, 1.0] keeps both ends, drops 0.6 and 1.05
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.9, 1.0))
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"]) for r in rows] == [(1, 0), (2, 1), (3, 0), (3, 1)]
    assert report.dropped["length_ratio"] == 2 and report.records == 4


def test_min_score_drops_low_and_unscored(store, job, tmp_path):
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", min_score=78)
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"], r["score"]) for r in rows] == [(1, 0, 90.0), (2, 0, 80.0), (2, 1, 78.0)]
    assert report.dropped["min_score"] == 3  # 60, 70 and the unscored one


def test_filters_count_each_item_once(store, job, tmp_path):
    # (1,1) fails both the window and the score: counted under the window, the first check
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.8, 1.1), min_score=75)
    assert report.dropped["length_ratio"] == 1
    assert report.dropped["min_score"] == 2  # (3,0) at 70 and (3,1) unscored
    assert report.records == 3


# DPO
@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_dpo_pairs_best_against_worst(store, job, to, tmp_path):
    report = export_job(store, "job1", "dpo", to, tmp_path / "out")
    assert report.records == 1
    assert report.dropped["no_pair"] == 2  # line 2: margin 2 < 5; line 3: only one scored sample
    ds = load(report.path, to, tmp_path)
    assert ds.column_names == DPO_COLUMNS and ds.num_rows == 1
    row = ds[0]
    assert row["prompt"] == [{"role": "user", "content": ESSAY}]
    assert row["chosen"] == [{"role": "assistant", "content": job[1, 0]["text"].strip() + "\n"}]
    assert row["rejected"] == [{"role": "assistant", "content": job[1, 1]["text"].strip() + "\n"}]
    assert (row["chosen_score"], row["rejected_score"], row["margin"]) == (90.0, 60.0, 30.0)
    assert (row["chosen_words"], row["rejected_words"], row["required_words"]) == (1000, 600, 1000)
    assert (row["line"], row["chosen_sample"], row["rejected_sample"]) == (1, 0, 1)


def test_dpo_margin_and_filters_on_chosen(store, job, tmp_path):
    report = export_job(store, "job1", "dpo", "jsonl", tmp_path / "out", min_margin=1.0)
    rows = jsonl(report.path)
    assert [(r["line"], r["chosen_sample"], r["rejected_sample"], r["margin"]) for r in rows] == [
        (1, 0, 1, 30.0), (2, 0, 1, 2.0)]
    # the window judges only the chosen document: line 1's rejected (ratio 0.6) does not matter,
    # line 2's chosen (ratio 1.05) is outside [0.9, 1.0]
    report = export_job(store, "job1", "dpo", "jsonl", tmp_path / "out", min_margin=1.0, length_ratio=(0.9, 1.0))
    assert [r["line"] for r in jsonl(report.path)] == [1]
    assert report.dropped == {"no_text": 0, "no_pair": 1, "length_ratio": 1, "min_score": 0, "exact_duplicate": 0,
                              "near_duplicate": 0}
    report = export_job(store, "job1", "dpo", "jsonl", tmp_path / "out", min_score=95)
    assert report.records == 0 and report.dropped["min_score"] == 1


def _doc(sample: int, score: float | None) -> Document:
    return Document(job="j", model="m", line=1, sample=sample, run_id=f"r{sample}", instruction="i",
                    required_words=100, category=None, words=100, text=f"text {sample}",
                    scores={} if score is None else {"score": score})


def test_best_and_worst_of_several_samples():
    docs = [_doc(0, 70), _doc(1, None), _doc(2, 95), _doc(3, 40), _doc(4, 95)]
    best, worst = best_and_worst(docs, min_margin=5)
    assert (best.sample, worst.sample) == (2, 3)  # the tie at 95 keeps the lower sample
    assert best_and_worst(docs, min_margin=55.01) is None
    assert best_and_worst(docs, min_margin=55) is not None  # the margin is inclusive
    assert best_and_worst([_doc(0, 90), _doc(1, None)], min_margin=0) is None


# dedupe
def test_exact_and_near_duplicates_keep_the_better_copy(store, tmp_path):
    a, b = prose(100, 300), prose(101, 300)
    near_b = b.replace(b.split()[150], "changedword", 1)
    docs = [
        dict(line=1, sample=0, text=a, scores=_scores(70)),
        dict(line=1, sample=1, text="  " + a.upper().replace(" ", "\n"), scores=_scores(90)),  # exact, better
        dict(line=2, sample=0, text=b, scores=_scores(95)),
        dict(line=2, sample=1, text=near_b, scores=_scores(50)),  # near, worse
        dict(line=3, sample=0, text=prose(102, 300), scores=_scores(None)),
    ]
    make_job(store, "dups", [dict(d, instruction=f"Task {d['line']}", required_words=300, words=300) for d in docs])
    report = export_job(store, "dups", "sft", "jsonl", tmp_path / "out")
    rows = jsonl(report.path)
    assert [(r["line"], r["sample"]) for r in rows] == [(1, 1), (2, 0), (3, 0)]
    assert (report.dropped["exact_duplicate"], report.dropped["near_duplicate"]) == (1, 1)
    report = export_job(store, "dups", "sft", "jsonl", tmp_path / "out", dedupe=False)
    assert report.records == 5 and report.dropped["exact_duplicate"] == 0


def test_duplicate_reasons_order_by_score():
    text = prose(7, 200)
    reasons = duplicate_reasons([text, prose(8, 200), text], [None, 50.0, 10.0])
    assert reasons == {0: "exact_duplicate"}  # a scored copy beats an unscored one
    assert duplicate_reasons(["one text here", "another text"], [1.0, 2.0]) == {}


def test_filter_reason():
    doc = _doc(0, 80)
    assert filter_reason(doc) is None
    assert filter_reason(doc, length_ratio=(1.0, 1.0)) is None
    assert filter_reason(doc, length_ratio=(1.01, 2)) == "length_ratio"
    assert filter_reason(doc, min_score=80) is None
    assert filter_reason(doc, min_score=80.5) == "min_score"
    assert filter_reason(_doc(0, None), min_score=0) == "min_score"


# lengthen
@pytest.fixture
def lengthen_job(store):
    short, longer, generator_prompt = prose(200, 60), prose(201, 150), "Write section 1 of an essay about rivers."
    roles = [
        {"role": "generator", "input": generator_prompt, "output": short},
        {"role": "extender", "input": short, "output": longer},
        {"role": "extender", "input": longer, "output": prose(202, 100)},  # not longer: skipped
    ]
    docs = [
        dict(line=1, sample=0, instruction=ESSAY, required_words=1000, words=1000, scores=_scores(90),
             text=prose(203), roles=roles),
        dict(line=2, sample=0, instruction=STORY, required_words=1000, words=300, scores=_scores(88),
             text=prose(204), roles=[{"role": "generator", "input": "p", "output": prose(205)}]),
    ]
    make_job(store, "len", docs)
    return {"short": short, "longer": longer, "generator_prompt": generator_prompt}


@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_lengthen_export(store, lengthen_job, to, tmp_path):
    report = export_job(store, "len", "lengthen", to, tmp_path / "out", length_ratio=(0.5, 2.0))
    assert report.records == 2
    assert report.dropped == {"no_text": 0, "length_ratio": 1, "min_score": 0, "not_longer": 1,
                              "exact_duplicate": 0, "near_duplicate": 0}
    ds = load(report.path, to, tmp_path)
    assert ds.column_names == LENGTHEN_COLUMNS and ds.num_rows == 2
    gen, ext = ds[0], ds[1]
    assert (gen["role"], gen["section"], gen["line"], gen["sample"]) == ("generator", 1, 1, 0)
    assert gen["messages"] == [{"role": "user", "content": lengthen_job["generator_prompt"]},
                               {"role": "assistant", "content": lengthen_job["short"]}]
    assert ext["role"] == "extender"
    assert (ext["input_words"], ext["output_words"]) == (60, 150)
    prompt = ext["messages"][0]["content"]
    assert ESSAY in prompt and "Overview: The main idea" in prompt and lengthen_job["short"] in prompt
    assert ext["messages"][1] == {"role": "assistant", "content": lengthen_job["longer"]}
    assert (ext["score"], ext["model"], ext["job"]) == (90.0, "fake-model", "len")


def test_extender_record_without_plan_section():
    pair = RolePair(role="extender", section_index=2, input_text="short draft", output_text="a longer text here",
                    input_words=2, output_words=4)
    record = lengthen_record(_doc(0, 50), pair)
    assert record["section"] == 3
    assert record["messages"][0]["content"] == extend_prompt("i", "", "", "short draft")
    assert "section \"" not in record["messages"][0]["content"]


# card
def test_card_counts_histograms_and_loading(store, job, tmp_path):
    report = export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(0.0, 10.0), min_score=None)
    card = report.card_path.read_text(encoding="utf-8")
    assert card.startswith("---\nconfigs:\n- config_name: default\n  data_files: sft.jsonl\n")
    assert "# job1" in card
    assert "| records | 6 |" in card
    assert "| model | fake-model |" in card and "| engine | vllm |" in card
    assert "| length_ratio | 0 |" in card and "| near_duplicate | 0 |" in card
    assert "- min score: not used" in card and "- length ratio window" in card and "0.0 - 10.0" in card
    # words 1000, 600, 2100, 2000, 450, 500; the biggest bucket gets a 30-character bar
    assert f"| <500 | 1 | {'#' * 10} |" in card
    assert f"| 500-2k | 3 | {'#' * 30} |" in card
    assert f"| 2k-4k | 2 | {'#' * 20} |" in card
    assert "| 4k-10k | 0 |  |" in card and "| >10k | 0 |  |" in card
    # scores 90, 60, 80, 78, 70, unscored
    for row in ("| 0-50 | 0 |", "| 50-70 | 1 |", "| 70-85 | 3 |", "| 85-100 | 1 |", "| unscored | 1 |"):
        assert row in card
    assert 'datasets.load_dataset("json", data_files="sft.jsonl", split="train")' in card
    assert "trl.SFTTrainer" in card

    report = export_job(store, "job1", "dpo", "parquet", tmp_path / "out")
    card = report.card_path.read_text(encoding="utf-8")
    assert "data_files: dpo.parquet" in card and "| records | 1 |" in card and "| no_pair | 2 |" in card
    assert 'load_dataset("parquet", data_files="dpo.parquet"' in card and "trl.DPOTrainer" in card


def test_bucket_edges():
    assert [c for _, c in length_counts([0, 499, 500, 1999, 2000, 3999, 4000, 9999, 10000])] == [2, 2, 2, 2, 1]
    assert [c for _, c in score_counts([0, 49.9, 50, 69.9, 70, 84.9, 85, 100, None])] == [2, 2, 2, 2, 1]


@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_empty_result_still_writes_file_and_card(store, job, to, tmp_path):
    report = export_job(store, "job1", "sft", to, tmp_path / "out", min_score=100)
    assert report.records == 0 and report.dropped["min_score"] == 6
    assert report.path.exists()
    if to == "jsonl":
        assert report.path.read_text() == ""
    else:  # datasets can't read a parquet file without rows; pyarrow shows it has the full schema
        import pyarrow.parquet as pq

        table = pq.read_table(report.path)
        assert table.num_rows == 0 and table.column_names == SFT_COLUMNS
    assert "| records | 0 |" in report.card_path.read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob(".*partial"))


# errors
def test_bad_arguments(store, job, tmp_path):
    with pytest.raises(UsageError, match="unknown export format 'kto'"):
        export_job(store, "job1", "kto", "jsonl", tmp_path / "out")
    with pytest.raises(UsageError, match="unknown file type 'csv'"):
        export_job(store, "job1", "sft", "csv", tmp_path / "out")
    with pytest.raises(UsageError, match="output folder's parent does not exist"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "missing" / "out")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="output folder is a file"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "afile")
    with pytest.raises(UsageError, match="LOW <= HIGH"):
        export_job(store, "job1", "sft", "jsonl", tmp_path / "out", length_ratio=(2.0, 1.0))
    with pytest.raises(UnknownJobError):
        export_job(store, "nope", "sft", "jsonl", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing is created before the arguments and the job check out
