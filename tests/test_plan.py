"""Plan files: the bundled plan loads; a missing or ill-typed term is rejected by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import PlanError
from generator.plan import load_plan
from generator.resources import default_plan


def test_bundled_plan_has_the_company_identity() -> None:
    plan = load_plan()
    assert plan.company.name == "Art Technology Group, Inc."
    assert plan.company.state == "Delaware"
    assert plan.name == "Amended and Restated 1999 Outside Director Stock Option Plan"
    assert plan.company.officer.name and plan.company.officer.title


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('state = "Delaware"\n', "", "company.state"),
        ('state = "Delaware"', "state = 7", "company.state"),
        (
            'short_name = "1999 Outside Director Stock Option Plan"',
            'short_name = "  "',
            "plan.short_name",
        ),
        ("[company.officer]", "[company.signer]", "company.officer"),
    ],
)
def test_missing_or_ill_typed_terms_are_named(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = default_plan().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PlanError, match=f"key '{key}'"):
        load_plan(path)


def test_unreadable_plan_files(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[plan\nname=", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(bad)
