"""The house style's formatter and linter, run as tests so CI enforces them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(
    shutil.which("ruff") is None and _ruff("--version").returncode != 0, reason="ruff missing"
)
def test_ruff_check_passes():
    proc = _ruff("check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(
    shutil.which("ruff") is None and _ruff("--version").returncode != 0, reason="ruff missing"
)
def test_ruff_format_is_clean():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_library_never_imports_streamlit_or_plotting():
    for path in (ROOT / "hypernas_core").glob("*.py"):
        text = path.read_text()
        for banned in ("import streamlit", "import plotly", "from plotly", "import matplotlib"):
            assert banned not in text, f"{path.name} imports {banned.split()[-1]}"
