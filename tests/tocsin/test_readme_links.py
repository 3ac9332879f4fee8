"""The README's relative links lead to files of the repository (issue 9, item 27).

It linked ``../shared/DESIGN.md``, a file outside the repository that a clone lacks.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_of_the_readme_is_a_file_in_the_repository() -> None:
    readme = ROOT / "README.md"
    targets = [t for t in LINK.findall(readme.read_text()) if "://" not in t]
    assert targets, "the README links nothing: the pattern is wrong"
    for target in targets:
        path = (ROOT / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{target} is outside the repository"
        assert path.exists(), f"{target} does not exist"
