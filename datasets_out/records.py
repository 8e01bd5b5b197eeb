"""Training records built from plain data: SFT conversations, DPO pairs, Self-Lengthen role pairs.

Pure functions of `Document` and `RolePair` (no store), so each record shape is unit-testable. The
shapes are what TRL's trainers read: `messages` for SFTTrainer, `prompt`/`chosen`/`rejected`
(conversational) for DPOTrainer. Scores are flat float columns plus a JSON string so a parquet
file's schema is the same for every row whichever judges ran.

A DPO pair is chosen by the clearest judged preference (`choose_pair`): a pairwise verdict where the
judge compared the samples (both orders agreeing), else the margin of the model judges' scores
(quality, checklist), else, saying so in `decided_by`, the mean of the rule judges (length, rules).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One finished document of a job (a done job item with its run's text)."""

    job: str
    model: str
    line: int
    sample: int
    run_id: str
    instruction: str
    required_words: int
    category: str | None
    words: int
    text: str
    scores: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The judges' mean, the one score used to filter and rank; None when unscored."""
        value = self.scores.get("score")
        return None if value is None else float(value)

    @property
    def length_ratio(self) -> float | None:
        """Words written over words asked for; None when no length was asked."""
        return round(self.words / self.required_words, 4) if self.required_words > 0 else None


@dataclass(frozen=True)
class RolePair:
    """One Self-Lengthen role record of a document's section, with the plan's title/main point for it."""

    role: str  # "generator" or "extender"
    section_index: int  # 0-based
    input_text: str
    output_text: str
    input_words: int
    output_words: int
    title: str = ""
    main_point: str = ""


def _user(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def _assistant(content: str) -> list[dict]:
    return [{"role": "assistant", "content": content}]


def _float(value) -> float | None:
    return None if value is None else float(value)


def sft_record(doc: Document) -> dict:
    """A LongWriter-6k style record: the instruction and the document as a two-turn conversation."""
    return {
        "messages": _user(doc.instruction) + _assistant(doc.text),
        "instruction": doc.instruction,
        "required_words": doc.required_words,
        "words": doc.words,
        "length_ratio": doc.length_ratio,
        "category": doc.category,
        "score": doc.score,
        "length_score": _float(doc.scores.get("length")),
        "scores_json": json.dumps(doc.scores, sort_keys=True),
        "extra_json": json.dumps(doc.extra, sort_keys=True, ensure_ascii=False),
        "job": doc.job,
        "line": doc.line,
        "sample": doc.sample,
        "run_id": doc.run_id,
        "model": doc.model,
    }


def best_and_worst(docs: Sequence[Document], min_margin: float) -> tuple[Document, Document] | None:
    """The best- and worst-scored documents of one instruction, or None when they can't make a pair:
    fewer than two scored documents, or a score gap under `min_margin` (too close to teach a preference).
    Ties keep the lower sample number, so the choice is deterministic."""
    scored = sorted((d for d in docs if d.score is not None), key=lambda d: (-d.score, d.sample))
    if len(scored) < 2:
        return None
    best = scored[0]
    worst = min(scored[1:], key=lambda d: (d.score, d.sample))
    if best.score - worst.score < min_margin:
        return None
    return best, worst


MODEL_SCORE_JUDGES = ("quality", "checklist", "dspy-quality", "dspy-checklist")
PAIRWISE = "pairwise"


@dataclass(frozen=True)
class PairChoice:
    """The pair one instruction contributes, and what decided it.

    `decided_by`: ("pairwise",), or the model judges whose score margin decided (("quality", "checklist")),
    or the rule judges when no model judge scored the samples (("length", "rules")). `verdict`: the pairwise
    verdict's details (both orders' reasons) when it decided."""

    chosen: Document
    rejected: Document
    decided_by: tuple[str, ...]
    verdict: dict | None = None


def model_score(doc: Document) -> tuple[float | None, tuple[str, ...]]:
    """The mean of the model judges' scores of `doc`, and which judges those are."""
    names = tuple(n for n in MODEL_SCORE_JUDGES if doc.scores.get(n) is not None)
    return (sum(float(doc.scores[n]) for n in names) / len(names) if names else None), names


def choose_pair(docs: Sequence[Document], verdicts: dict[frozenset, dict], min_margin: float
                ) -> tuple[PairChoice | None, str | None]:
    """The pair with the clearest judged preference among one instruction's documents, or None and why not.

    1. Pairwise verdicts (`verdicts`: {frozenset of two run ids: details with "first_run_id" and "winner"}):
       of the pairs whose both orders agreed, the one whose winner beat the most samples and whose loser
       lost to the most (wins minus losses of each, summed over the verdicts), then by model-score margin.
       No margin applies: the judge's verdict is the preference.
    2. Else the model judges' mean score (quality, checklist): best against worst, at least `min_margin` apart.
    3. Else the judges' mean score (`Document.score`, length and rules): best against worst, at least
       `min_margin` apart, with `decided_by` naming those judges.
    Returns:
        (choice, None), or (None, reason): "too_few" (fewer than two scored documents) or "small_margin".
    """
    by_run = {d.run_id: d for d in docs}
    decisive = []
    for pair, v in verdicts.items():
        if v.get("winner") in ("first", "second") and pair <= set(by_run):
            first, second = v["first_run_id"], v["second_run_id"]
            w, lose = (first, second) if v["winner"] == "first" else (second, first)
            decisive.append((by_run[w], by_run[lose], v))
    if decisive:
        net = {rid: 0 for rid in by_run}
        for w, lose, _ in decisive:
            net[w.run_id] += 1
            net[lose.run_id] -= 1

        def clarity(item):
            w, lose, _ = item
            ms_w, ms_l = model_score(w)[0], model_score(lose)[0]
            return (net[w.run_id] - net[lose.run_id], 0.0 if ms_w is None or ms_l is None else ms_w - ms_l,
                    -w.sample, -lose.sample)

        w, lose, v = max(decisive, key=clarity)
        return PairChoice(w, lose, (PAIRWISE,), v), None
    judged = [(d, *model_score(d)) for d in docs]
    judged = [(d, ms, names) for d, ms, names in judged if ms is not None]
    if len(judged) >= 2:
        ranked = sorted(judged, key=lambda t: (-t[1], t[0].sample))
        best, worst = ranked[0], min(ranked[1:], key=lambda t: (t[1], t[0].sample))
        if best[1] - worst[1] < min_margin:
            return None, "small_margin"
        names = tuple(n for n in MODEL_SCORE_JUDGES if n in best[2] and n in worst[2]) or best[2]
        return PairChoice(best[0], worst[0], names), None
    scored = [d for d in docs if d.score is not None]
    if len(scored) < 2:
        return None, "too_few"
    pair = best_and_worst(scored, min_margin)
    if pair is None:
        return None, "small_margin"
    names = tuple(sorted(set(pair[0].scores) & set(pair[1].scores) - {"score"}))
    return PairChoice(pair[0], pair[1], names), None


def dpo_record(chosen: Document, rejected: Document, decided_by: Sequence[str] = (),
               verdict: dict | None = None) -> dict:
    """A TRL DPOTrainer record (conversational prompt/chosen/rejected) for one instruction, with what decided
    the preference (`decided_by`) and, for a pairwise verdict, both orders' reasons (`preference_json`)."""
    preference = {"decided_by": list(decided_by)}
    if verdict is not None:
        preference["pairwise"] = {"winner_run_id": chosen.run_id, "judge_model": verdict.get("judge_model"),
                                  "orders": [{k: o.get(k) for k in ("shown_first", "preferred", "reason")}
                                             for o in verdict.get("orders", [])]}
    model_scores = {d: {n: d_.scores[n] for n in MODEL_SCORE_JUDGES if d_.scores.get(n) is not None}
                    for d, d_ in (("chosen", chosen), ("rejected", rejected))}
    if any(model_scores.values()):
        preference["model_scores"] = model_scores
    return {
        "prompt": _user(chosen.instruction),
        "chosen": _assistant(chosen.text),
        "rejected": _assistant(rejected.text),
        "chosen_score": chosen.score,
        "rejected_score": rejected.score,
        "margin": None if chosen.score is None or rejected.score is None else round(chosen.score - rejected.score, 4),
        "required_words": chosen.required_words,
        "chosen_words": chosen.words,
        "rejected_words": rejected.words,
        "category": chosen.category,
        "extra_json": json.dumps(chosen.extra, sort_keys=True, ensure_ascii=False),
        "job": chosen.job,
        "line": chosen.line,
        "chosen_sample": chosen.sample,
        "rejected_sample": rejected.sample,
        "chosen_run_id": chosen.run_id,
        "rejected_run_id": rejected.run_id,
        "model": chosen.model,
        "decided_by": list(decided_by),
        "preference_json": json.dumps(preference, sort_keys=True, ensure_ascii=False),
    }


def extend_prompt(instruction: str, title: str, main_point: str, draft: str) -> str:
    """The user turn of an Extender pair: the task, which section, and the shorter text to lengthen.
    (The stored input is the bare draft; a trainable prompt needs the task and the section around it.)"""
    section = f"{title}: {main_point}" if title and main_point else (title or main_point)
    lines = [instruction.strip(), ""]
    if section:
        lines += [f"This is the section \"{section.strip()}\" of that piece.", ""]
    lines += ["Here is a short draft of it:", "", draft.strip(), "",
              "Rewrite this draft into a longer, more detailed version of the same section: keep what it says "
              "and its order, add details, examples and explanation, and do not repeat yourself."]
    return "\n".join(lines)


def is_lengthening(pair: RolePair) -> bool:
    """An Extender pair teaches lengthening only if its output is longer than its input."""
    return pair.role != "extender" or pair.output_words > pair.input_words


def lengthen_record(doc: Document, pair: RolePair) -> dict:
    """A Generator (section prompt -> draft) or Extender (draft -> longer text) training record."""
    if pair.role == "extender":
        prompt = extend_prompt(doc.instruction, pair.title, pair.main_point, pair.input_text)
    else:
        prompt = pair.input_text
    return {
        "role": pair.role,
        "messages": _user(prompt) + _assistant(pair.output_text),
        "input_words": pair.input_words,
        "output_words": pair.output_words,
        "instruction": doc.instruction,
        "category": doc.category,
        "score": doc.score,
        "job": doc.job,
        "line": doc.line,
        "sample": doc.sample,
        "run_id": doc.run_id,
        "section": pair.section_index + 1,
        "model": doc.model,
    }
