"""Bad input of every kind, through the real entry point (`writer.cli.main`): exit 2 (1 for a runtime fault),
exactly one `error:` line, no traceback, and nothing already written changed. No engine loads for any of them.

Each case starts from a data dir holding a finished run (its document written to a file), a finished dataset
job and its documents; the case's options, environment and config file are applied; afterwards the store's
runs, sections and job items and every file are as they were.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from scripted_engine import ScriptedEngine

import writer
from writer.cli import main
from writer.dataset.jobs import create_job, run_job
from writer.store import Store

PLAN = {"sections": [{"title": "Night", "main_point": "How owls hunt", "words": 350},
                     {"title": "Day", "main_point": "Where owls rest", "words": 350}]}
LONG = "Write about the sea and the ships that cross it. " * 2600  # ~127,000 characters, ~32,000 tokens


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix not in (".sqlite-journal", ".log")
            and p.name not in ("writer.sqlite", "checkpoints.sqlite")}


def _rows(store: Store) -> list:
    runs = [(r.id, r.status, r.words, r.output_path, r.error) for r in store.list_runs(1000)]
    sections = [(r[0], s.index, s.text) for r in runs for s in store.sections(r[0])]
    items = [(j.id, it.line, it.status, it.run_id, it.words) for j in store.list_jobs() for it in store.job_items(j.id)]
    return [runs, sections, items]


@pytest.fixture
def written(isolated, tmp_path):
    """A data dir with a finished run, its output file, and a finished job with its documents."""
    store = Store()
    out = tmp_path / "owls.md"
    run = writer.compose("Write a 700-word essay about owls.", engine=ScriptedEngine(plan_reply=PLAN), output=out)
    src = tmp_path / "topics.jsonl"
    src.write_text(json.dumps({"instruction": "Write a 200-word note about rain.", "length": 200}) + "\n")
    create_job(store, src, out=tmp_path / "docs", engine_name="scripted", model="scripted-model", name="rain")
    run_job(store, "rain", ScriptedEngine())
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"instruction": "Write a 200-word note about snow.", "length": 200}) + "\n")
    (tmp_path / "bad.jsonl").write_text("not json\n[1, 2]\n")
    (tmp_path / "emoji.jsonl").write_text(json.dumps({"instruction": "🌱🌱🌱"}) + "\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    return {"run": run.run_id, "out": out, "tmp": tmp_path, "store": store}


def _config(tmp: Path, text: str | bytes) -> None:
    path = tmp / "config.toml"  # the file conftest points WRITER_CONFIG at
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


# (id, args, environment, config file text, exit code, part of the error line); "{tmp}" and "{run}" are filled in
CASES = [
    # instructions
    ("empty instruction", ["compose", ""], {}, None, 2, "the instruction is empty"),
    ("blank instruction", ["compose", "   "], {}, None, 2, "the instruction is empty"),
    ("emoji instruction", ["compose", "🌱🌱🌱"], {}, None, 2, "no words to plan from"),
    ("punctuation instruction", ["compose", "?!… — ***"], {}, None, 2, "no words to plan from"),
    ("instruction over smollm2's window", ["compose", LONG, "--model", "smollm2-135m"], {}, None, 2,
     "8,192-token context window"),
    ("instruction over the default window", ["compose", LONG], {}, None, 2, "32,768-token context window"),
    ("plan: empty instruction", ["plan", ""], {}, None, 2, "the instruction is empty"),
    ("plan: emoji instruction", ["plan", "🌱"], {}, None, 2, "no words to plan from"),
    ("plan: instruction too long", ["plan", LONG, "--model", "smollm2-135m"], {}, None, 2, "too long"),
    # compose options
    ("words 0", ["compose", "Write about owls", "--words", "0"], {}, None, 2, "--words must be between 1 and"),
    ("words too many", ["compose", "Write about owls", "--words", "100001"], {}, None, 2, "--words must be between"),
    ("words not a number", ["compose", "Write about owls", "--words", "many"], {}, None, 2, "'--words'"),
    ("candidates 0", ["compose", "Write about owls", "--candidates", "0"], {}, None, 2, "--candidates must be"),
    ("candidates 9", ["compose", "Write about owls", "-n", "9"], {}, None, 2, "--candidates must be"),
    ("unknown mode", ["compose", "Write about owls", "--mode", "diagonal"], {}, None, 2, "--mode must be one of"),
    ("unknown option", ["compose", "Write about owls", "--bogus"], {}, None, 2, "No such option: --bogus"),
    ("unknown engine", ["compose", "Write about owls", "--engine", "nope"], {}, None, 2, "unknown engine 'nope'"),
    ("missing model folder", ["compose", "Write about owls", "--model", "/does/not/exist"], {}, None, 2,
     "model folder not found"),
    ("not a model folder", ["compose", "Write about owls", "--model", "{tmp}/folder"], {}, None, 2,
     "not a Hugging Face model folder"),
    ("misspelt model", ["compose", "Write about owls", "--model", "smollm2-135"], {}, None, 2, "unknown model"),
    ("openai without a url", ["compose", "Write about owls", "--engine", "openai"], {}, None, 2, "needs --base-url"),
    ("openai unreachable", ["compose", "Write about owls", "--engine", "openai", "--base-url",
                            "http://127.0.0.1:9/v1"], {}, None, 2, "cannot reach an OpenAI-compatible server"),
    ("output folder missing", ["compose", "Write about owls", "-o", "/no/such/folder/out.md"], {}, None, 2,
     "output folder does not exist"),
    ("output is a folder", ["compose", "Write about owls", "-o", "{tmp}/folder"], {}, None, 2,
     "output path is a folder"),
    ("program file missing", ["compose", "Write about owls", "--program", "{tmp}/nope.json"], {}, None, 2, "nope.json"),
    # run ids
    ("resume unknown run", ["compose", "--resume", "doesnotexist"], {}, None, 2, "no run with id 'doesnotexist'"),
    ("show unknown run", ["runs", "show", "doesnotexist"], {}, None, 2, "no run with id"),
    ("show without a run", ["runs", "show"], {}, None, 2, "Missing argument"),
    ("runs limit -1", ["runs", "list", "--limit", "-1"], {}, None, 2, "--limit"),
    ("runs limit 0", ["runs", "list", "-n", "0"], {}, None, 2, "--limit"),
    # environment
    ("named config missing", ["runs"], {"WRITER_CONFIG": "/nonexistent.toml"}, None, 2,
     "config file /nonexistent.toml (WRITER_CONFIG) does not exist"),
    ("config is a folder", ["runs"], {"WRITER_CONFIG": "{tmp}/folder"}, None, 2, "is a folder"),
    ("data dir is a file", ["runs"], {"WRITER_DATA_DIR": "{tmp}/afile"}, None, 2, "data dir"),
    ("data dir under a file", ["runs"], {"WRITER_DATA_DIR": "{tmp}/afile/data"}, None, 2, "data dir"),
    ("cache dir is a file", ["runs"], {"WRITER_CACHE_DIR": "{tmp}/afile"}, None, 2, "cache dir"),
    ("concurrency not a number", ["runs"], {"WRITER_CONCURRENCY": "many"}, None, 2,
     "WRITER_CONCURRENCY must be a whole number"),
    ("concurrency 0", ["runs"], {"WRITER_CONCURRENCY": "0"}, None, 2, "WRITER_CONCURRENCY must be at least 1"),
    ("engine from env", ["compose", "Write about owls"], {"WRITER_ENGINE": "nope"}, None, 2, "unknown engine 'nope'"),
    ("kv cache not whole", ["compose", "Write about owls"], {"VLLM_CPU_KVCACHE_SPACE": "1.0"}, None, 2,
     "VLLM_CPU_KVCACHE_SPACE must be a whole number of GiB, not '1.0'"),
    ("model from env", ["compose", "Write about owls"], {"WRITER_MODEL": "/nope/model"}, None, 2,
     "model folder not found"),
    ("plan model folder missing", ["compose", "Write a 2000-word essay about owls", "--plan-model", "/nope/model"],
     {}, None, 2, "model folder not found"),
    ("plan model from env missing", ["compose", "Write a 2000-word essay about owls"],
     {"WRITER_PLAN_MODEL": "/nope/model"}, None, 2, "model folder not found"),
    ("plan model on a served engine", ["compose", "Write a 2000-word essay about owls", "--engine", "openai",
                                       "--base-url", "http://127.0.0.1:9/v1", "--plan-model", "smollm2-135m"],
     {}, None, 2, "a plan model runs on the in-process engine (vllm), not on openai"),
    ("store file unopenable", ["runs"], {"WRITER_DB_URL": "sqlite:////nonexistent/dir/x.db"}, None, 2,
     "cannot open store"),
    ("store dialect unknown", ["runs"], {"WRITER_DB_URL": "nosuchdialect://x"}, None, 2, "cannot open store"),
    ("store server unreachable", ["runs"], {"WRITER_DB_URL": "postgresql+psycopg://u@127.0.0.1:9/x"}, None, 2,
     "Connection refused"),
    # config file values
    ("config engine = 42", ["runs"], {}, "engine = 42\n", 2, "engine = 42: input should be a valid string"),
    ("config model = list", ["runs"], {}, 'model = ["x"]\n', 2, "model = ['x']"),
    ("config unknown key", ["runs"], {}, 'modle = "x"\n', 2, "unknown key 'modle'"),
    ("config concurrency string", ["runs"], {}, 'concurrency = "8"\n', 2, "concurrency = '8'"),
    ("config concurrency 0", ["runs"], {}, "concurrency = 0\n", 2, "concurrency = 0"),
    ("config engine table", ["runs"], {}, "[engine]\nname = 'vllm'\n", 2, "engine = {'name': 'vllm'}"),
    ("config not TOML", ["runs"], {}, "engine = \n", 2, "is not valid TOML"),
    ("config not UTF-8", ["runs"], {}, b"model = \"\xff\xfe\"\n", 2, "cannot read config file"),
    ("config db_url number", ["runs"], {}, "db_url = 5\n", 2, "db_url = 5"),
    ("config unknown engine", ["compose", "Write about owls"], {}, 'engine = "nope"\n', 2, "unknown engine 'nope'"),
    ("config data dir is a file", ["runs"], {"WRITER_DATA_DIR": None}, 'data_dir = "{tmp}/afile"\n', 2,
     "cannot be used (data_dir in "),
    ("config misspelt model", ["compose", "Write about owls"], {}, 'model = "qwen-0.5b"\n', 2, "unknown model"),
    # dataset files and job names
    ("instructions missing", ["dataset", "generate", "{tmp}/nope.jsonl", "-o", "{tmp}/d2"], {}, None, 2,
     "instructions file not found"),
    ("instructions all bad", ["dataset", "generate", "{tmp}/bad.jsonl", "-o", "{tmp}/d2"], {}, None, 2,
     "no instructions in"),
    ("instructions only emoji", ["dataset", "generate", "{tmp}/emoji.jsonl", "-o", "{tmp}/d2"], {}, None, 2,
     "no words to plan from"),
    ("job out is a file", ["dataset", "generate", "{tmp}/good.jsonl", "-o", "{tmp}/afile"], {}, None, 2,
     "is a file, not a folder"),
    ("samples 0", ["dataset", "generate", "{tmp}/good.jsonl", "-o", "{tmp}/d2", "-n", "0"], {}, None, 2,
     "--samples must be between"),
    ("unknown judge", ["dataset", "generate", "{tmp}/good.jsonl", "-o", "{tmp}/d2", "--judges", "nope"], {}, None, 2,
     "unknown judge 'nope'"),
    ("job model misspelt", ["dataset", "generate", "{tmp}/good.jsonl", "-o", "{tmp}/d2", "--model", "smol"], {},
     None, 2, "unknown model 'smol'"),
    ("job name taken", ["dataset", "generate", "{tmp}/good.jsonl", "-o", "{tmp}/d2", "--job", "rain"], {}, None, 2,
     "a job named 'rain' already exists"),
    ("resume unknown job", ["dataset", "resume", "nojob"], {}, None, 2, "no job named 'nojob'"),
    ("status unknown job", ["dataset", "status", "nojob"], {}, None, 2, "no job named 'nojob'"),
    ("export unknown job", ["dataset", "export", "nojob", "-f", "sft", "-o", "{tmp}/x"], {}, None, 2, "nojob"),
    ("export bad ratio", ["dataset", "export", "rain", "-f", "sft", "-o", "{tmp}/x", "--length-ratio", "abc"], {},
     None, 2, "--length-ratio must be LO,HI"),
    ("install unknown model", ["models", "install", "nope"], {}, None, 2, "unknown model 'nope'"),
]


def _fill(value: str, written: dict) -> str:
    return value.replace("{tmp}", str(written["tmp"])).replace("{run}", written["run"])


@pytest.mark.parametrize("args, env, config, code, part", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line(written, monkeypatch, capsys, args, env, config, code, part):
    tmp = written["tmp"]
    before_files, before_rows = _files(tmp), _rows(written["store"])
    capsys.readouterr()
    if config is not None:
        _config(tmp, _fill(config, written) if isinstance(config, str) else config)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, _fill(value, written))
    monkeypatch.setattr(sys, "argv", ["writer", *[_fill(a, written) for a in args]])
    # main() closes every cached engine on its way out; in the full suite that would close the session's
    # real engine under the engine tests that follow (no bad input here ever starts one)
    monkeypatch.setattr("writer.cli.close_engines", lambda: None)
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert exited.value.code == code, captured.err
    assert len(errors) == 1 and part in errors[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
    assert _rows(Store(written["store"].url)) == before_rows  # nothing already written changed
    assert {k: v for k, v in _files(tmp).items() if k != "config.toml"} == \
        {k: v for k, v in before_files.items() if k != "config.toml"}


def test_the_table_is_long_enough():
    assert len(CASES) >= 40
