"""What every benchmark table is stamped with: the date, the commit and the CPU it ran on.

The CPU differs between machines by about 10x (AVX2 only, or AVX-512 with bf16), so a table without
it cannot be compared with another; ratios are only compared within one run.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_name() -> str:
    """Cores, model name and vector extensions ("2 cores, AMD EPYC, AVX-512 + bf16"), plus vLLM's CPU binding."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    name = f"{os.cpu_count()} cores, {model}, " + ("AVX-512 + bf16" if "avx512_bf16" in info else "AVX2 only")
    bind = os.environ.get("VLLM_CPU_OMP_THREADS_BIND")
    return name + (f", vLLM bound to CPU {bind}" if bind else "")


def commit() -> str:
    """`git describe --always --dirty` of the checkout ("?" outside git): a dirty tree is marked as such."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def stamp() -> dict:
    """{"date", "commit", "cpu"} for a results file."""
    return {"date": str(date.today()), "commit": commit(), "cpu": cpu_name()}
