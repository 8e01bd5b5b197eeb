"""Where settings come from: explicit arguments, then environment, then a config file, then defaults.

Environment variables: WRITER_ENGINE, WRITER_MODEL, WRITER_BASE_URL, WRITER_API_KEY
(or OPENAI_API_KEY), WRITER_CONCURRENCY, WRITER_DB_URL, WRITER_DATA_DIR, WRITER_CACHE_DIR,
WRITER_CONFIG (path of the TOML config file; default: the user config dir's config.toml).
The config file holds the same keys in lower case without the prefix, e.g. `model = "/models/qwen"`
(plus `judge_model` and `plan_model`); `FileSettings` types them, so a wrong type or an unknown key is one line naming
the key. A config file named by WRITER_CONFIG must exist; the default one may be absent.
`check()` validates every source (file, environment, data and cache dirs) once, up front.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from writer.errors import UsageError

APP = "writer"


def _folder(variable: str, default: str, what: str) -> Path:
    key = variable.removeprefix("WRITER_").lower()  # the config file's key: data_dir, cache_dir
    source, value = variable, os.environ.get(variable)
    if not value and getattr(file_settings(), key):
        source, value = f"{key} in {config_path()}", getattr(file_settings(), key)
    path = Path(value or default).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be used ({source}): {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path} is not writable ({source})")
    return path


def data_dir() -> Path:
    """Folder of the store and checkpoints (XDG data dir unless WRITER_DATA_DIR)."""
    return _folder("WRITER_DATA_DIR", platformdirs.user_data_dir(APP), "data dir")


def cache_dir() -> Path:
    """Folder of converted models and other caches (XDG cache dir unless WRITER_CACHE_DIR)."""
    return _folder("WRITER_CACHE_DIR", platformdirs.user_cache_dir(APP), "cache dir")


def config_path() -> Path:
    return Path(os.environ.get("WRITER_CONFIG") or Path(platformdirs.user_config_dir(APP)) / "config.toml")


class FileSettings(BaseModel):
    """The config file's keys: each optional and of one type (TOML types, nothing coerced), none unknown."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    engine: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int | None = Field(None, ge=1)
    db_url: str | None = None
    data_dir: str | None = None
    cache_dir: str | None = None
    judge_model: str | None = None
    plan_model: str | None = None


_PARSED: dict[tuple, FileSettings] = {}  # (path, mtime, size) -> settings: the file is read once per change


def file_settings() -> FileSettings:
    """The config file's settings (all None without one); UsageError naming the key for a bad value."""
    path = config_path()
    named = bool(os.environ.get("WRITER_CONFIG"))
    try:
        stat = path.stat()
    except FileNotFoundError:
        if named:
            raise UsageError(f"config file {path} (WRITER_CONFIG) does not exist") from None
        return FileSettings()
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except IsADirectoryError:
            raise UsageError(f"config file {path} is a folder, not a file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
        try:
            _PARSED[key] = FileSettings(**data)
        except ValidationError as exc:
            raise UsageError(_config_error(path, exc)) from None
    return _PARSED[key]


def _config_error(path: Path, exc: ValidationError) -> str:
    """The first problem of a config file as one line that names its key."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        known = ", ".join(FileSettings.model_fields)
        return f"config file {path}: unknown key {key!r} (known keys: {known})"
    return f"config file {path}: {key} = {first['input']!r}: {first['msg'][0].lower()}{first['msg'][1:]}"


def _file_settings() -> dict:
    """The config file's keys that are set, as a dict."""
    return file_settings().model_dump(exclude_none=True)


def check() -> None:
    """Validate every configuration source once, before any command runs: the config file, the
    environment's values, the data and cache dirs. UsageError (one line) for the first bad one."""
    file_settings()
    value = os.environ.get("WRITER_CONCURRENCY")
    if value:
        _concurrency(value, "WRITER_CONCURRENCY")
    data_dir()
    cache_dir()


def _concurrency(value, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where} must be a whole number, got {value!r}") from None
    if number < 1:
        raise UsageError(f"{where} must be at least 1, got {number}")
    return number


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
    conf = _file_settings()  # validated: each value of its key's type

    def pick(value, env: str, key: str, default=None):
        if value is not None:
            return value
        if os.environ.get(env):
            return os.environ[env]
        return conf.get(key, default)

    conc = _concurrency(pick(concurrency, "WRITER_CONCURRENCY", "concurrency", 8), "concurrency")
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
