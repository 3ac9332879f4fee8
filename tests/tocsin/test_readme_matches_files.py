"""What the README's incident commands leave behind and print agrees with the checkout.

Its report commands write ``report.html`` into the checkout: git ignores it and
``make clean`` removes it. ``--output json`` prints what the README says it prints.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.cli_incidents_view import answer_json

ROOT = Path(__file__).parents[2]


def readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_report_html_is_ignored_and_cleaned() -> None:
    assert "> report.html" in readme() or "--output report.html" in readme()
    ignored = subprocess.run(["git", "check-ignore", "-q", "report.html"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "report.html is not in .gitignore"
    clean = re.search(r"^clean:\n\t(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert clean is not None
    assert "report.html" in clean.group(1).split()


def test_output_json_is_as_the_readme_says() -> None:
    assert "as it came" not in readme()
    assert "`--output json` prints the server's answer as indented JSON" in readme()
    assert answer_json({"title": "caf\u00e9"}) == '{\n  "title": "caf\\u00e9"\n}\n'
