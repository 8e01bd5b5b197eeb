"""The file store: a run's memory as named files in the store, every read and write recorded.

Names: `draft/k` (the drafts of section k between steps, JSON list), `summary/k`,
`facts` (JSON: names, facts, open threads), `best/k` (the best attempt at section k so far).
Finished sections live in the store's sections table and are read and written through here
as `section/k`, so the event log shows everything an instruction saw and changed.
"""

from __future__ import annotations

import json

from writer.artifacts import WrittenSection
from writer.store import Store
from writer.text.lengths import count_words

MAX_NAMES = 30
MAX_FACTS = 40
MAX_THREADS = 10


def empty_facts() -> dict:
    return {"names": [], "facts": [], "open_threads": []}


class MemoryFiles:
    """Read and write one run's memory; each access is logged with the instruction's seq."""

    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.run_id = run_id

    def _log(self, seq: int | None, action: str, name: str, text: str) -> None:
        self.store.log_memory(self.run_id, seq, action, name, count_words(text))

    def read(self, name: str, seq: int | None = None) -> str | None:
        content = self.store.read_file(self.run_id, name)
        if content is not None:
            self._log(seq, "read", name, content)
        return content

    def write(self, name: str, content: str, seq: int | None = None) -> None:
        self.store.write_file(self.run_id, name, content)
        self._log(seq, "write", name, content)

    def read_json(self, name: str, seq: int | None = None, default=None):
        content = self.read(name, seq)
        return default if content is None else json.loads(content)

    def write_json(self, name: str, value, seq: int | None = None) -> None:
        self.write(name, json.dumps(value, ensure_ascii=False), seq)

    # finished sections
    def section(self, index: int, seq: int | None = None) -> WrittenSection | None:
        section = self.store.get_section(self.run_id, index)
        if section is not None:
            self._log(seq, "read", f"section/{index}", section.text)
        return section

    def sections(self, seq: int | None = None, before: int | None = None) -> list[WrittenSection]:
        sections = [s for s in self.store.sections(self.run_id) if before is None or s.index < before]
        for s in sections:
            self._log(seq, "read", f"section/{s.index}", s.text)
        return sections

    def commit_section(self, section: WrittenSection, seq: int | None = None) -> WrittenSection:
        stored = self.store.save_section(self.run_id, section)
        self._log(seq, "write", f"section/{section.index}", stored.text)
        return stored

    def replace_section(self, index: int, text: str, seq: int | None = None,
                        defects: dict | None = None) -> WrittenSection:
        section = self.store.replace_section(self.run_id, index, text, defects)
        self._log(seq, "write", f"section/{index}", text)
        return section

    def add_version(self, index: int, text: str, instruction: str | None = None, note: str | None = None,
                    seq: int | None = None) -> int:
        """Store `text` as the next version of finished section `index` (the old ones kept); returns its number."""
        version = self.store.add_section_version(self.run_id, index, text, instruction, note)
        self._log(seq, "write", f"section/{index}", text)
        return version

    # summaries and facts
    def summaries(self, before: int, seq: int | None = None) -> list[tuple[int, str]]:
        """Summaries of sections before `before` that exist, in order."""
        out = []
        for row in self.store.files(self.run_id):
            if row.name.startswith("summary/") and int(row.name.split("/")[1]) < before:
                out.append((int(row.name.split("/")[1]), row.content))
                self._log(seq, "read", row.name, row.content)
        return sorted(out)

    def facts(self, seq: int | None = None) -> dict:
        return self.read_json("facts", seq, default=empty_facts())

    def add_facts(self, index: int, found: dict, seq: int | None = None) -> dict:
        """Merge facts found in section `index` into the `facts` file (deduplicated, capped, newest kept)."""
        facts = self.facts(seq)
        for name in found.get("names", []):
            if name.lower() not in {n.lower() for n in facts["names"]}:
                facts["names"].append(name)
        for fact in found.get("facts", []):
            if fact.lower() not in {f["text"].lower() for f in facts["facts"]}:
                facts["facts"].append({"section": index, "text": fact})
        for thread in found.get("open_threads", []):
            if thread.lower() not in {t.lower() for t in facts["open_threads"]}:
                facts["open_threads"].append(thread)
        facts["names"] = facts["names"][-MAX_NAMES:]
        facts["facts"] = facts["facts"][-MAX_FACTS:]
        facts["open_threads"] = facts["open_threads"][-MAX_THREADS:]
        self.write_json("facts", facts, seq)
        return facts
