"""The command line: bad input gives one line on stderr and exit 2; runs can be listed and shown."""

import json
import os
import subprocess
import sys

import pytest
from scripted_engine import ScriptedEngine
from typer.testing import CliRunner

import writer
from writer.cli import app

runner = CliRunner()


def run_cli(*args):
    """The installed entry point in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "writer", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


@pytest.mark.parametrize("args, message", [
    (["compose", ""], "the instruction is empty"),
    (["compose", "Write about owls", "--words", "0"], "--words must be between 1 and 100000"),
    (["compose", "Write about owls", "--words", "100001"], "--words must be between 1 and 100000"),
    (["compose", "Write about owls", "--words", "many"], "Invalid value for '--words'"),
    (["compose", "Write about owls", "--engine", "nope"], "unknown engine 'nope'"),
    (["compose", "Write about owls", "--model", "/does/not/exist"], "model folder not found"),
    (["compose", "Write about owls", "--engine", "openai", "--base-url", "http://127.0.0.1:9/v1"],
     "cannot reach an OpenAI-compatible server"),
    (["compose", "Write about owls", "--engine", "openai"], "needs --base-url"),
    (["compose", "--resume", "doesnotexist"], "no run with id 'doesnotexist'"),
    (["compose", "Write about owls", "-o", "/no/such/folder/out.md"], "output folder does not exist"),
    (["runs", "show", "doesnotexist"], "no run with id"),
    (["plan", ""], "the instruction is empty"),
    (["compose", "x", "--bogus"], "No such option: --bogus"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert proc.stdout == ""


def test_runs_list_and_show(tmp_path):
    result = writer.compose("Write a 700-word essay about tea.", engine=ScriptedEngine())
    listed = runner.invoke(app, ["runs", "list", "--json"])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows[0]["run_id"] == result.run_id and rows[0]["status"] == "done"
    shown = runner.invoke(app, ["runs", "show", result.run_id, "--json"])
    info = json.loads(shown.stdout)
    assert info["words"] == result.words and info["sections_written"] == len(result.sections)
    assert info["plan"]["target_words"] == 700
    text = runner.invoke(app, ["runs", "show", result.run_id, "--text"])
    assert text.stdout.strip() == result.text.strip()
    table = runner.invoke(app, ["runs"])
    assert result.run_id in table.stdout
