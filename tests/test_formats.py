"""The formats grantgen writes, as docs/formats.md describes them: the manifest model reads and
writes manifest.json losslessly, and a real batch's manifest, signed, countersigned and with a
copy set aside, is valid under the published JSON Schema."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.core.layout import journal_path, manifest_path
from generator.terms.manifest import Listed, Manifest
from tests.signing_tools import PASSPHRASE, Pki, make_batch, make_pki

SHA = "a" * 64


def schema() -> dict[str, Any]:
    text = (files("generator") / "schemas" / "manifest.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def written(folder: Path, data: dict[str, Any]) -> Path:
    path = manifest_path(folder)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def entry(**extra: Any) -> dict[str, Any]:
    return {
        "zz_later_version": {"kept": True},  # a key another grantgen wrote, first
        "grant_id": "G-1",
        "participant": "Zoë O'Brien & Co <x>",
        "row": 2,
        "docx": "G-1.docx",
        "pdf": "G-1.pdf",
        "sha256": {"docx": SHA, "pdf": SHA},
        **extra,
    }


def test_manifest_rewrite_keeps_every_key_in_its_order(tmp_path: Path) -> None:
    data = {"generator": "grantgen 9.9", "documents": [entry(), 17], "future": [1, 2]}
    path = written(tmp_path, data)
    manifest = Manifest.read(path)
    docs, problems = manifest.usable()
    assert [d.grant_id for d in docs] == ["G-1"]
    assert problems == [f"{path}: document 2 cannot be used: not an object but int"]
    record = {"pdf": "G-1.signed.pdf", "sha256": "b" * 64, "field": "company_signature"}
    docs[0].put_signature(record, countersign=False)
    manifest.write()
    again = json.loads(path.read_text(encoding="utf-8"))
    assert list(again) == ["generator", "documents", "future"]
    assert again["documents"][1] == 17 and again["future"] == [1, 2]
    assert list(again["documents"][0]) == [*entry(), "signed"]
    assert again["documents"][0]["signed"] == record
    assert Listed(again["documents"][0]).signed is not None


def test_a_countersignature_and_a_set_aside_copy_are_recorded_through_the_model(
    tmp_path: Path,
) -> None:
    company = {"pdf": "G-1.signed.pdf", "sha256": "b" * 64, "field": "company_signature"}
    doc = Listed(entry(signed=dict(company)))
    later = {"pdf": "G-1.countersigned.pdf", "sha256": "c" * 64, "field": "participant_signature"}
    doc.put_signature(later, countersign=True)
    assert doc.signed is not None and doc.signed.made_on("participant_signature") is not None
    assert [s.pdf for s in doc.signatures] == ["G-1.signed.pdf", "G-1.countersigned.pdf"]
    aside = [{"pdf": "superseded/G-1.countersigned.pdf", "superseded": "signed again"}]
    doc.supersede(aside, "participant_signature", countersign=True)
    assert doc.superseded == aside
    assert doc.signed is not None and doc.signed.countersigned == []
    assert "countersigned" not in doc.data["signed"]


def test_the_journal_of_a_killed_sign_is_taken_in_when_read(tmp_path: Path) -> None:
    path = written(tmp_path, {"generator": "grantgen 0.1.0", "documents": [entry()]})
    record = {"pdf": "G-1.signed.pdf", "sha256": "d" * 64, "field": "company_signature"}
    lines = [json.dumps({"pdf": "G-1.pdf", "record": record}), '{"pdf": "G-1.pdf", "rec']
    journal_path(path).write_text("\n".join(lines), encoding="utf-8")
    earlier = Manifest.earlier(tmp_path)
    assert earlier is not None
    signed = earlier.documents[0].signed
    assert signed is not None and signed.sha256 == "d" * 64
    assert Manifest.earlier(tmp_path / "nowhere") is None


def test_the_schema_refuses_what_grantgen_would_not_write() -> None:
    good = {
        "generator": "grantgen 0.1.0",
        "input": "grants.csv",
        "plan": "p",
        "officer": "O",
        "draft": False,
        "documents": [entry()],
        "errors": [],
        "warnings": [],
    }
    jsonschema.validate(good, schema())
    bad = json.loads(json.dumps(good))
    bad["documents"][0]["sha256"]["pdf"] = "not a digest"
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate(bad, schema())
    del bad["documents"]
    with pytest.raises(jsonschema.ValidationError, match="'documents' is a required property"):
        jsonschema.validate(bad, schema())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("formats-pki"))


def run(*args: object) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def test_a_signed_batch_manifest_is_valid_under_the_schema(
    tmp_path: Path, pki: Pki, soffice: str
) -> None:
    grants = [("FMT-001", "Margaret A. Ellison"), ("FMT-002", "Daniel K. Osei")]
    batch = make_batch(tmp_path, "formats", grants)
    passfile = tmp_path / "pass.txt"
    passfile.write_bytes(PASSPHRASE + b"\n")
    company = ["--cert", pki.officer_p12, "--passphrase-file", passfile]
    run("sign", batch, *company, "--dated")
    participant = ["--cert", pki.participant_p12, "--passphrase-file", passfile]
    run("sign", batch, "--field", "participant_signature", *participant)
    run("sign", batch / "FMT-002.pdf", *company, "--force")  # the old copy is set aside
    data = json.loads(manifest_path(batch).read_text(encoding="utf-8"))
    jsonschema.validate(data, schema())
    first, second = data["documents"]
    assert first["signed"]["countersigned"][0]["field"] == "participant_signature"
    assert first["signed"]["dated"]
    assert second["superseded"][0]["pdf"].startswith("superseded/")
    assert data["review"]["files"] and data["kit"]["files"]
