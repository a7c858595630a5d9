from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from generator.pipeline import GenerateOptions, GenerateResult, generate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "sample-grants.csv"  # a copy of the demo's sample
PRICES = ROOT / "tests" / "fixtures" / "sample-prices.csv"
HEADER = [
    "grant_id",
    "participant",
    "address",
    "grant_date",
    "shares",
    "exercise_price",
    "award_type",
    "is_employee",
]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    header = header or HEADER
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})
    return path


def grant(**values: str) -> dict[str, str]:
    base = {
        "grant_id": "G-1",
        "participant": "Alex Example",
        "address": "",
        "grant_date": "2005-05-16",
        "shares": "15,000",
        "exercise_price": "$3.25",
        "award_type": "option",
        "is_employee": "no",
    }
    base.update(values)
    return base


def batch_document(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[Path, int]:
    """The rows' agreements in one batch DOCX, as the documents stage makes it (not yet
    converted), and how many agreements it holds."""
    from generator.converting.batchdoc import combine
    from generator.core.resources import templates_dir
    from generator.kitchecks.templatecheck import load_templates
    from generator.pipeline import check_batch

    checked = check_batch(write_csv(tmp_path / "g.csv", rows), prices=PRICES)
    assert not checked.grants.errors
    templates = load_templates(templates_dir(), checked.plan)
    docs = [templates.render_grant_parts(r, checked.plan) for r in checked.grants.records]
    chunk = tmp_path / "chunk.docx"
    chunk.write_bytes(combine(templates.agreement.prepared(), docs))
    return chunk, len(docs)


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(path).pages]


@pytest.fixture(autouse=True, scope="session")
def _cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """LibreOffice profiles and the Plan PDF cache live in a folder of the test session, never
    the user's ~/.cache/grantgen: the fault tests throw profiles away on purpose."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    yield cache
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True, scope="session")
def _samples_accepted() -> Iterator[None]:
    """The bundled plan marks its signing officer as a sample ([samples]): the tests make
    final documents with it all the same (tests of the refusal unset this)."""
    before = os.environ.get("GRANTGEN_ACCEPT_SAMPLES")
    os.environ["GRANTGEN_ACCEPT_SAMPLES"] = "1"
    yield
    if before is None:
        os.environ.pop("GRANTGEN_ACCEPT_SAMPLES", None)
    else:
        os.environ["GRANTGEN_ACCEPT_SAMPLES"] = before


@pytest.fixture(autouse=True)
def _ledger_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ledger file, never one in the working folder."""
    path = tmp_path / "ledger.sqlite"
    monkeypatch.setenv("GRANTGEN_LEDGER", str(path))
    return path


@pytest.fixture(scope="session")
def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is required for these tests: run `make test` (it installs it)"
    return found


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory: pytest.TempPathFactory, soffice: str) -> GenerateResult:
    """The bundled sample batch, generated once for the whole session."""
    out = tmp_path_factory.mktemp("sample")
    ledger = out.parent / "sample-ledger.sqlite"
    return generate(GenerateOptions(grants=SAMPLE, out=out, ledger=ledger, prices=PRICES))


@pytest.fixture
def run_batch(tmp_path: Path, soffice: str) -> Callable[..., GenerateResult]:
    def run(rows: list[dict[str, str]], **kwargs: object) -> GenerateResult:
        grants = write_csv(tmp_path / "grants.csv", rows)
        return generate(GenerateOptions(grants=grants, out=tmp_path / "out", **kwargs))  # type: ignore[arg-type]

    return run


def pdftotext_words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Words on a 1-based page with their boxes, from poppler's pdftotext (PDF coordinates)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    height = float(_attr(out, "page", "height"))
    words = []
    import re

    for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', out
    ):
        x1, y1, x2, y2 = (float(m.group(i)) for i in range(1, 5))
        words.append((m.group(5), x1, height - y2, x2, height - y1))
    return words


def _attr(xml: str, tag: str, name: str) -> str:
    import re

    m = re.search(rf'<{tag}[^>]*\b{name}="([\d.]+)"', xml)
    assert m, f"no {tag} {name} in pdftotext output"
    return m.group(1)


#: Fixtures that run LibreOffice: a test using any of them (through others too) is marked
#: ``soffice``, so the fast tier (``make test-fast``: ``-m "not soffice"``) leaves it out.
_LIBREOFFICE_FIXTURES = {"soffice"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _LIBREOFFICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.soffice)
