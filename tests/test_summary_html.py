"""The review summary page (summary.html), built in Python without LibreOffice: every value
escaped by the template, the page the same as before it had a template (a golden file), and
the template shipped as package data."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from generator.comparing.deviations import Deviation
from generator.making.batch import ReviewBatch, ReviewGrant
from generator.reviewing import summary
from generator.reviewing.summary import summary_html
from generator.terms.kit import init_kit
from generator.terms.plan import load_plan

ROOT = Path(__file__).resolve().parent.parent
#: The page of :func:`hostile_page`, as grantgen wrote it before the page had a template.
GOLDEN = ROOT / "tests" / "fixtures" / "summary-golden.html"
#: The bundled plan, its file named without the checkout's folder (the page shows it).
PLAN = dataclasses.replace(load_plan(), source="data/plans/atg-1999.toml")

SCRIPT = '<script>alert("x")</script> Smith'
ZOE = 'Zoë O\'Brien & Sons <Trust> "QA"'
ATTR = "\"><img src=x onerror=alert(1)>'<b>"
BAD_FINDING: dict[str, object] = {
    "severity": 'error"><script>x</script>',
    "section": "5(b) & <i>",
    "rule": "exercise-price",
    "message": "price <b>too</b> low & \"quoted\" 'single'",
}
WARNING: dict[str, object] = {"severity": "warning", "section": "4(a)", "message": "ok"}
ADDED = Deviation("added", "agreement", None, 'New <b>clause</b> & "more"', ())
REMOVED = Deviation("removed", "acceptance", "Old 'clause' <i>gone</i>", None, ())
CHANGED = Deviation(
    "changed",
    "agreement",
    "a term of ten (10) years & <x>",
    "a term of twelve (12) years & <x>",
    (("equal", "a term of"), ("delete", "ten (10) <"), ("insert", 'twelve (12) "'), ("equal", "&")),
)
#: The tags the page is made of: any other ``<`` would be markup from a value.
TAGS = {
    "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "a", "table",
    "thead", "tbody", "tr", "th", "td", "br", "span", "ul", "li", "section", "strong", "code",
    "div", "del", "ins",
}  # fmt: skip


def grant(row: int, **values: Any) -> ReviewGrant:
    base: dict[str, Any] = {
        "row": row,
        "grant_id": f"G-{row}",
        "participant": f"Person {row}",
        "grant_date": date(2005, 5, 16),
        "shares": 15000,
        "exercise_price": Decimal("3.25"),
        "price_source": "close on grant date 2005-05-16",
        "final_exercise_date": date(2015, 5, 16),
        "status": "generated",
        "findings": [],
        "docx": Path(f"/batch/G-{row}.docx"),
        "pdf": Path(f"/batch/G-{row}.pdf"),
        "vesting": "at once: all 15,000 on 2005-05-16",
    }
    base.update(values)
    return ReviewGrant(**base)


def batch(grants: list[ReviewGrant], **values: Any) -> ReviewBatch:
    base: dict[str, Any] = {
        "out": Path("/batch"),
        "plan": PLAN,
        "grants": grants,
        "reserve": 800000,
        "available_before": 800000,
        "available_after": 737500,
        "draft": False,
    }
    base.update(values)
    return ReviewBatch(**base)


def hostile_page() -> bytes:
    """A final batch with hostile text in every value the page shows, refused and failed
    grants, batch findings and deviations (one in two documents, one twice in a document)."""
    grants = [
        grant(2, participant=SCRIPT, grant_id="G-\"2'<>&"),
        grant(3, participant=ZOE, shares=7500, findings=[WARNING]),
        grant(4, participant="Ilse Varga-Moreno", vesting='annual & <b>"x"</b>', price_source=ATTR),
        grant(5, status="refused", docx=None, pdf=None, findings=[BAD_FINDING, {"message": "?"}]),
        grant(
            6,
            grant_date=None,
            shares=None,
            exercise_price=None,
            final_exercise_date=None,
            status="refused",
            docx=None,
            pdf=None,
            vesting="",
            price_source="",
        ),
        grant(7, participant="Tomasz Wójcik", status="failed", docx=Path(ATTR + ".docx"), pdf=None),
    ]
    return summary_html(
        batch(grants, findings=[BAD_FINDING], already_recorded=15000),
        {"G-\"2'<>&": [ADDED, CHANGED, CHANGED], "G-3": [CHANGED, REMOVED], "G-4": []},
        {"CSV": "summary.csv", ATTR: 'a"b<c>&.pdf'},
        "/kit/board <consent> & 'co'.docx",
        [SCRIPT],
    )


def test_hostile_values_come_out_escaped() -> None:
    page = hostile_page().decode("utf-8")
    assert "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Smith</td>" in page
    assert "<td>Zoë O&#x27;Brien &amp; Sons &lt;Trust&gt; &quot;QA&quot;</td>" in page
    assert '<td class="id">G-&quot;2&#x27;&lt;&gt;&amp;</td>' in page
    assert '<td class="vesting">annual &amp; &lt;b&gt;&quot;x&quot;&lt;/b&gt;</td>' in page
    # in attributes too: a value cannot close the attribute or the tag
    assert '<li class="error&quot;&gt;&lt;script&gt;x&lt;/script&gt;">' in page
    assert '<a href="a&quot;b&lt;c&gt;&amp;.pdf">&quot;&gt;&lt;img src=x ' in page
    assert '<a href="../&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#x27;&lt;b&gt;.docx">' in page
    assert (
        "Board consent made from /kit/board &lt;consent&gt; &amp; &#x27;co&#x27;.docx</p>" in page
    )
    assert "<li>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Smith</li>" in page  # uncompared
    assert "<del>ten (10) &lt;</del> <ins>twelve (12) &quot;</ins> &amp;</p>" in page
    assert "(2 document(s): G-&quot;2&#x27;&lt;&gt;&amp;, G-3)" in page
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&#39;" not in page and "&#34;" not in page  # quotes spelled as before
    assert {tag for tag in re.findall(r"</?([!\w]+)", page)} == TAGS


def test_the_page_is_the_one_grantgen_wrote_before_the_template() -> None:
    page = hostile_page()
    assert page == GOLDEN.read_bytes()
    text = page.decode("utf-8")
    assert text.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'\">\n"
    ) in text
    assert "<style>\nbody{font-family:Georgia,'Times New Roman',serif;" in text
    assert '<tr id="row-6"><td class="num">6</td><td class="id">G-6</td>' in text
    assert "<td>of which already in the ledger (not counted again)</td>" in text
    assert "<p><strong>5 deviation(s)</strong> from the approved form in 2 document(s)." in text
    assert text.endswith("</section>\n</body>\n</html>\n")


def test_a_draft_batch_whose_documents_match_the_form() -> None:
    page = summary_html(
        batch([grant(2, status="draft")], draft=True), {"G-2": []}, None, None, ["G-9: earlier"]
    ).decode("utf-8")
    assert '<p class="sub">Draft batch (nothing recorded in the ledger) under the ' in page
    assert '<tr><td>Drafts made</td><td class="num">1</td></tr>' in page
    assert "<td>Available after this batch (if made final)</td>" in page
    assert (
        '<section id="deviations">\n<p id="not-compared">Not compared with an approved form:</p>'
        '<ul><li>G-9: earlier</li></ul><p id="no-deviations">No deviations: '
    ) in page
    assert "<p></p>" in page and "Batch findings" not in page and "Board consent" not in page


def test_no_document_made_and_an_empty_batch() -> None:
    page = summary_html(batch([], available_after=800000), {}).decode("utf-8")
    assert "<tbody>\n\n</tbody>" in page
    assert (
        '<section id="deviations">\n<p id="no-agreements">No document was made, so none was '
        "compared.</p>\n</section>"
    ) in page


def test_section16_plans_show_each_form4_due_date(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    init_kit(kit, "meridian")
    (kit / "plan.toml").write_text(
        (kit / "plan.toml").read_text() + "\n[section16]\nreporting = true\n"
    )
    plan = load_plan(kit)
    page = summary_html(
        batch([grant(2, grant_date=date(2026, 12, 4)), grant(3, grant_date=None)], plan=plan), {}
    ).decode("utf-8")
    assert '<h2>Grants</h2>\n<p class="sub" id="section16">Section 16: each grant' in page
    assert (
        '<td class="date">December 4, 2026<br><span class="sub form4">Form 4 due December 8, 2026'
        "</span></td>"
    ) in page
    assert '<td class="date"></td>' in page  # no grant date, no due date
    assert "(option), " in page  # the kit's forms, by award type


def test_the_template_is_package_data() -> None:
    template = resources.files("generator.reviewing") / "templates" / "summary.html.j2"
    assert template.is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["generator"]
    assert any(fnmatch.fnmatch("reviewing/templates/summary.html.j2", p) for p in patterns)
    env = summary._page().environment
    assert env.autoescape is True and env.undefined.__name__ == "StrictUndefined"


def test_the_page_is_rendered_from_the_template_resources_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "summary.html.j2").write_text(
        "{{ plan.company.name }}: {% for g in grants %}{{ g.participant }}{% endfor %}\n"
    )
    monkeypatch.setattr(summary.resources, "files", lambda package: tmp_path)
    summary._page.cache_clear()
    try:
        page = summary_html(batch([grant(2, participant=SCRIPT)]), {})
    finally:
        monkeypatch.undo()
        summary._page.cache_clear()
    name = b"Art Technology Group, Inc."
    assert page == name + b": &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Smith\n"
