"""Prompt templates: Jinja2 files under this package, rendered with StrictUndefined.

`render("planner/agentwrite.j2", ...)` returns the text; a missing variable is an error,
never a silent blank.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import jinja2


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("prompts", "."),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables) -> str:
    """Render template `name` (a path under prompts/) with `variables`."""
    return _env().get_template(name).render(**variables).strip()


@lru_cache(maxsize=None)
def template_hash(name: str) -> str:
    """Short hash of a template's source, stored with each call (`calls.template_hash`) so a change to a prompt
    can be traced in the log. DSPy's stage names ("plan", "judge:quality") are not files: they hash to ""."""
    path = resources.files("prompts") / name
    if not path.is_file():
        return ""
    return hashlib.sha256(path.read_text().encode()).hexdigest()[:12]
