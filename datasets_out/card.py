"""The dataset card (README.md) written next to an export: what is in the file and how it was filtered.

YAML front matter that the Hugging Face hub reads (the data file as the default config), then the
job, the counts, the filters, length and score distributions, and how to load and train on it.
"""

from __future__ import annotations

from collections.abc import Sequence

LENGTH_BUCKETS = [("<500", 0, 500), ("500-2k", 500, 2000), ("2k-4k", 2000, 4000), ("4k-10k", 4000, 10000),
                  (">10k", 10000, None)]  # lower bound inclusive, upper exclusive
SCORE_BUCKETS = [("0-50", 0, 50), ("50-70", 50, 70), ("70-85", 70, 85), ("85-100", 85, None)]
BAR_WIDTH = 30

TRAINERS = {
    "sft": ("trl.SFTTrainer", "the `messages` column (user instruction, assistant document)"),
    "dpo": ("trl.DPOTrainer", "the `prompt`, `chosen` and `rejected` columns (conversational format)"),
    "lengthen": ("trl.SFTTrainer", "the `messages` column; filter on `role` to train the Generator or the "
                                   "Extender alone"),
}
DESCRIPTIONS = {
    "sft": "one record per document: the instruction and the document written for it",
    "dpo": "one record per instruction: the pair of its documents with the clearest judged preference, chosen "
           "over rejected (`decided_by` says which judges decided)",
    "lengthen": "one record per Self-Lengthen step: Generator (section prompt -> draft) and Extender "
                "(short draft -> longer text) pairs",
}
WORDS_COLUMN = {"sft": "words", "dpo": "chosen_words", "lengthen": "output_words"}
SCORE_COLUMN = {"sft": "score", "dpo": "chosen_score", "lengthen": "score (of the document)"}


def _bar(count: int, most: int) -> str:
    if count == 0 or most == 0:
        return ""
    return "#" * max(1, round(count / most * BAR_WIDTH))


def _table(header: str, counts: list[tuple[str, int]]) -> list[str]:
    most = max((c for _, c in counts), default=0)
    rows = [f"| {header} | records | |", "|---|---:|---|"]
    return rows + [f"| {label} | {count} | {_bar(count, most)} |" for label, count in counts]


def length_counts(words: Sequence[int]) -> list[tuple[str, int]]:
    """Records per word-count bucket."""
    return [(label, sum(1 for w in words if w >= low and (high is None or w < high)))
            for label, low, high in LENGTH_BUCKETS]


def score_counts(scores: Sequence[float | None]) -> list[tuple[str, int]]:
    """Records per score bucket (the top one includes 100), plus the unscored."""
    counts = [(label, sum(1 for s in scores if s is not None and s >= low and (high is None or s < high)))
              for label, low, high in SCORE_BUCKETS]
    return counts + [("unscored", sum(1 for s in scores if s is None))]


PREFERENCE = {
    "pairwise": "the pairwise judge: both orders of the two samples named the same winner",
    "model": "the margin of the model judges' scores",
    "rules": "the margin of length and rules scores alone: no model judge scored these samples",
}


def _decided(key: str) -> str:
    names = key.split("+")
    kind = "pairwise" if "pairwise" in names else "model" if set(names) & {"quality", "checklist", "dspy-quality",
                                                                            "dspy-checklist"} else "rules"
    return f"{', '.join(names) or 'mean score'}: {PREFERENCE[kind]}"


def render_card(*, job: str, fmt: str, filename: str, records: int, dropped: dict[str, int], filters: dict,
                model: str, engine: str, source: str, words: Sequence[int], scores: Sequence[float | None],
                decided_by: dict[str, int] | None = None, judge_model: str | None = None) -> str:
    """The card's Markdown. `words`/`scores` are one value per exported record; `filters` maps a filter's
    name to its setting as it should read (None: not used). `decided_by` (DPO): pairs per deciding judges
    ("quality+checklist"); `judge_model`: the job's judge model (None: the default judge model)."""
    loader = "parquet" if filename.endswith(".parquet") else "json"
    trainer, columns = TRAINERS[fmt]
    lines = [
        "---",
        "configs:",
        "- config_name: default",
        f"  data_files: {filename}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- long-form-writing",
        "- synthetic",
        "---",
        "",
        f"# {job}",
        "",
        f"Long-form writing data exported by `writer` from the dataset job `{job}`: {DESCRIPTIONS[fmt]}.",
        "",
        "| | |",
        "|---|---|",
        f"| format | {fmt} |",
        f"| file | `{filename}` |",
        f"| records | {records} |",
        f"| model | {model} |",
        f"| engine | {engine} |",
        f"| instructions | `{source}` |",
        "",
        "## Filters",
        "",
    ]
    for name, setting in filters.items():
        lines.append(f"- {name}: {'not used' if setting is None else setting}")
    lines += ["", "Records dropped, by reason:", "", "| reason | dropped |", "|---|---:|"]
    lines += [f"| {reason} | {count} |" for reason, count in dropped.items()]
    if decided_by is not None:
        lines += ["", "## Preferences", "",
                  f"Judge model: {judge_model or 'the default judge model (the strongest installed)'}.", "",
                  "| decided by | pairs |", "|---|---:|"]
        lines += [f"| {_decided(key)} | {count} |" for key, count in sorted(decided_by.items())]
    lines += ["", f"## Length (`{WORDS_COLUMN[fmt]}`)", ""]
    lines += _table("words", length_counts(words))
    lines += ["", f"## Score (`{SCORE_COLUMN[fmt]}`, mean of the judges, 0-100)", ""]
    lines += _table("score", score_counts(scores))
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("{loader}", data_files="{filename}", split="train")',
        "```",
        "",
        f"Train with `{trainer}`: it reads {columns}.",
        "",
    ]
    return "\n".join(lines)
