"""Writing a file so that a crash never leaves half of it: a temporary file beside it, then a rename."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from writer.errors import OutputError

__all__ = ["write_atomic"]


def write_atomic(path: Path | str, data: str | bytes | Callable[[Path], object]) -> Path:
    """Write `data` to `path` through `.<name>.partial` in the same folder, then rename it into place, so readers
    see the old file or the new one, never a part. `data` is text (UTF-8), bytes, or a function that writes the
    temporary path it is given (a parquet writer). The temporary file is removed if writing fails, and a file system
    error (a full disk, a read-only folder) is an `OutputError` naming the file. Returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            data(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path
