"""Reading the user's source files and cutting them into passages.

Plain text and Markdown are read as UTF-8; PDF through pypdf (the text layer: a scanned PDF
without one reads as empty); Word files through python-docx (paragraphs and table cells). A
folder contributes its supported files, found recursively, in path order. A passage is about
CHUNK_LOW-CHUNK_HIGH words, cut at paragraph boundaries (a longer paragraph at sentence ends):
big enough to support a sentence's claims, small enough that several fit a section's prompt.
Every problem is one `UsageError` naming the file, raised before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from writer.artifacts import Passage
from writer.errors import UsageError
from writer.text.lengths import PARAGRAPH_BREAK, SENTENCE_END, count_words

__all__ = ["SOURCE_SUFFIXES", "CHUNK_LOW", "CHUNK_HIGH", "source_files", "read_source", "chunk_text",
           "load_sources"]

SOURCE_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx")
CHUNK_LOW = 120
CHUNK_HIGH = 200
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)


def _error(path: Path | str, problem: str) -> UsageError:
    return UsageError(f"source {path}: {problem}", option="source")


def source_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files `paths` name: each file as given, each folder's supported files (recursively, sorted)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise _error(path, f"folder has no {', '.join(SOURCE_SUFFIXES)} files")
            files += found
        elif path.is_file():
            if path.suffix.lower() not in SOURCE_SUFFIXES:
                raise _error(path, f"unsupported file type {path.suffix or '(none)'}; use "
                                   f"{', '.join(SOURCE_SUFFIXES)}")
            files.append(path)
        else:
            raise _error(path, "no such file or folder")
    unique: list[Path] = []
    for f in files:
        if f.resolve() not in {u.resolve() for u in unique}:
            unique.append(f)
    return unique


def read_source(path: Path) -> str:
    """The text of one source file (UsageError when it cannot be read)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            from pypdf import PdfReader

            reader = PdfReader(path)
            return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
        if suffix == ".docx":
            import docx

            document = docx.Document(str(path))
            texts = [p.text for p in document.paragraphs]
            texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
            return "\n\n".join(t for t in texts if t.strip())
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _error(path, "not UTF-8 text") from None
    except OSError as exc:
        raise _error(path, f"cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - a damaged PDF or Word file: the parsers raise many kinds
        raise _error(path, f"cannot be read as {suffix[1:].upper()} ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else 'damaged file'})") from None


def _pieces(paragraph: str, high: int) -> list[str]:
    """A paragraph of at most `high` words as it is; a longer one cut at sentence ends into pieces of at most
    `high` words (a single endless sentence by words)."""
    if count_words(paragraph) <= high:
        return [paragraph]
    pieces, current = [], []
    for sentence in SENTENCE_END.split(paragraph):
        words = sentence.split()
        while len(words) > high:
            pieces.append(" ".join(words[:high]))
            words = words[high:]
        if current and count_words(" ".join(current + words)) > high:
            pieces.append(" ".join(current))
            current = []
        current += words
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_text(text: str, low: int = CHUNK_LOW, high: int = CHUNK_HIGH) -> list[str]:
    """`text` as passages of about `low`-`high` words, at paragraph boundaries; Markdown heading marks dropped
    (a heading stays, as a line of its passage)."""
    text = _HEADING.sub("", text.replace("\r\n", "\n"))
    paragraphs = [" ".join(p.split()) for p in PARAGRAPH_BREAK.split(text) if p.strip()]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in (x for p in paragraphs for x in _pieces(p, high)):
        n = count_words(piece)
        if current and size + n > high:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
        if size >= low:
            chunks.append("\n\n".join(current))
            current, size = [], 0
    if current:
        if chunks and size < low and count_words(chunks[-1]) + size <= high + low // 2:  # a short tail joins
            chunks[-1] += "\n\n" + "\n\n".join(current)
        else:
            chunks.append("\n\n".join(current))
    return [c for c in chunks if count_words(c)]


def load_sources(paths: Iterable[str | Path]) -> list[Passage]:
    """Every passage of the files `paths` name, numbered from 1 in file order. UsageError (one line, naming the
    file) for a missing, unsupported, unreadable or empty source."""
    passages: list[Passage] = []
    for document, path in enumerate(source_files(paths), start=1):
        chunks = chunk_text(read_source(path))
        if not chunks:
            raise _error(path, "has no text" + (" (a scanned PDF has no text layer)"
                                                if path.suffix.lower() == ".pdf" else ""))
        passages += [Passage(number=len(passages) + k + 1, path=str(path), document=document, chunk=k, text=c)
                     for k, c in enumerate(chunks)]
    return passages
