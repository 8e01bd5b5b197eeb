"""Where settings come from: explicit arguments, then environment, then a config file, then defaults.

Environment variables: WRITER_ENGINE, WRITER_MODEL, WRITER_BASE_URL, WRITER_API_KEY
(or OPENAI_API_KEY), WRITER_CONCURRENCY, WRITER_DB_URL, WRITER_DATA_DIR, WRITER_CACHE_DIR,
WRITER_CONFIG (path of the TOML config file; default: the user config dir's config.toml).
The config file holds the same keys in lower case without the prefix, e.g. `model = "/models/qwen"`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import tomllib

from writer.errors import UsageError

APP = "writer"


def _folder(variable: str, default: str, what: str) -> Path:
    path = Path(os.environ.get(variable) or default).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be used ({variable}): {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path} is not writable ({variable})")
    return path


def data_dir() -> Path:
    """Folder of the store and checkpoints (XDG data dir unless WRITER_DATA_DIR)."""
    return _folder("WRITER_DATA_DIR", platformdirs.user_data_dir(APP), "data dir")


def cache_dir() -> Path:
    """Folder of converted models and other caches (XDG cache dir unless WRITER_CACHE_DIR)."""
    return _folder("WRITER_CACHE_DIR", platformdirs.user_cache_dir(APP), "cache dir")


def config_path() -> Path:
    return Path(os.environ.get("WRITER_CONFIG") or Path(platformdirs.user_config_dir(APP)) / "config.toml")


def _file_settings() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from exc


@dataclass
class EngineSettings:
    """Everything needed to build an engine."""

    engine: str = "vllm"
    model: str | None = None  # None: the default registered model (writer.engines.models.DEFAULT_MODEL)
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = 8


def engine_settings(
    engine: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    concurrency: int | None = None,
) -> EngineSettings:
    """Resolve engine settings: arguments, then WRITER_* environment, then the config file."""
    conf = _file_settings()

    def pick(value, env: str, key: str, default=None):
        if value is not None:
            return value
        if os.environ.get(env):
            return os.environ[env]
        return conf.get(key, default)

    conc = pick(concurrency, "WRITER_CONCURRENCY", "concurrency", 8)
    try:
        conc = int(conc)
    except (TypeError, ValueError):
        raise UsageError(f"concurrency must be an integer, got {conc!r}") from None
    return EngineSettings(
        engine=pick(engine, "WRITER_ENGINE", "engine", "vllm"),
        model=pick(model, "WRITER_MODEL", "model"),
        base_url=pick(base_url, "WRITER_BASE_URL", "base_url"),
        api_key=pick(api_key, "WRITER_API_KEY", "api_key") or os.environ.get("OPENAI_API_KEY"),
        concurrency=conc,
    )


def db_url() -> str:
    """The store's SQLAlchemy URL: WRITER_DB_URL, the config file's db_url, or SQLite in the data dir."""
    return os.environ.get("WRITER_DB_URL") or _file_settings().get("db_url") or f"sqlite:///{data_dir() / 'writer.sqlite'}"
