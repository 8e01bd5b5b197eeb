"""Exported files train with TRL: one optimizer step of SFTTrainer on the SFT and lengthen exports and
of DPOTrainer on the DPO export, on the embedded model (transformers on the CPU, no vLLM).

The issue asks that the files "train with TRL's SFT/DPO trainers' expected columns"; column names
alone do not show that, a trainer taking a step on them does. Each trainer reads the exported
file through `datasets.load_dataset` as a user would, with every metadata column left in, and
the step must change the model's weights. The job is built straight in the store (as in
test_exports.py) so the test needs no engine; it is marked `engine` because it loads the real
embedded model and takes a minute.
"""

from __future__ import annotations

import pytest
from test_exports import STANDARD, load, make_job, prose

from datasets_out.export import export_job

pytestmark = pytest.mark.engine  # trl is in the `test` extra: a missing install fails, never skips


def _roles(seed: int) -> list[dict]:
    short, extended = prose(seed, 40), prose(seed + 100, 90)
    return [{"role": "generator", "input": "Write section 1 of an essay about rivers.", "output": short},
            {"role": "extender", "input": short, "output": extended}]


@pytest.fixture
def exported(store, tmp_path):
    docs = [dict(d, text=prose(seed, 80), roles=_roles(seed) if seed < 2 else None)
            for seed, d in enumerate(STANDARD)]
    make_job(store, "job1", docs)
    out = {}
    for fmt, to in (("sft", "jsonl"), ("dpo", "parquet"), ("lengthen", "jsonl")):
        report = export_job(store, "job1", fmt, to, tmp_path / fmt, min_margin=1)
        assert report.records > 0, fmt
        out[fmt] = load(report.path, to, tmp_path)
    return out


@pytest.fixture(scope="module")
def model_dir():
    from writer.engines.models import model_dir

    return str(model_dir("smollm2-135m"))


def _model_and_tokenizer(model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return model, tokenizer


def _common(tmp_path) -> dict:
    # TRL's configs default to bf16; on a CPU without native bf16 that made one DPO step 143 s instead of 14
    return dict(output_dir=str(tmp_path / "trainer"), max_steps=1, per_device_train_batch_size=2,
                learning_rate=1e-4, report_to="none", save_strategy="no", logging_steps=1, use_cpu=True,
                bf16=False, max_length=256, seed=0)


def _weights(model):
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def _changed(before: dict, model) -> bool:
    import torch

    return any(not torch.equal(before[name], p.detach()) for name, p in model.named_parameters() if name in before)


@pytest.mark.parametrize("fmt", ["sft", "lengthen"])
def test_sft_trainer_takes_a_step_on_the_export(exported, fmt, model_dir, tmp_path):
    from trl import SFTConfig, SFTTrainer

    data = exported[fmt]
    assert "messages" in data.column_names
    model, tokenizer = _model_and_tokenizer(model_dir)
    before = _weights(model)
    trainer = SFTTrainer(model=model, args=SFTConfig(**_common(tmp_path)), train_dataset=data,
                         processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0
    assert _changed(before, model)


def test_dpo_trainer_takes_a_step_on_the_export(exported, model_dir, tmp_path):
    from trl import DPOConfig, DPOTrainer

    data = exported["dpo"]
    assert {"prompt", "chosen", "rejected"} <= set(data.column_names)
    model, tokenizer = _model_and_tokenizer(model_dir)
    before = _weights(model)
    trainer = DPOTrainer(model=model, args=DPOConfig(**_common(tmp_path)), train_dataset=data,
                         processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 1
    assert _changed(before, model)
