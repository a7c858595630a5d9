"""The review's view of a batch: each grant of the run with its status and findings, the
documents an earlier run left in the folder (from their manifest entries), the rows that could
not be read, and the reserve before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator.checking.checkbatch import Checked
from generator.checking.findings import Facts, Report
from generator.checking.pool import batch_reserve
from generator.comparing.deviations import Deviation
from generator.making.batch import Document, GenerateResult, ReviewBatch, ReviewGrant, Status
from generator.reading.grantrecord import GrantRecord
from generator.reviewing.consent import ConsentGrant
from generator.terms.manifest import Listed, Manifest
from generator.terms.vesting import one_line

#: Errors the pipeline adds after the checks: the grant passed them and then could not be made.
FAILURE_RULES = ("convert", "assemble", "render")


def review_batch(
    checked: Checked,
    result: GenerateResult,
    earlier: Sequence[Listed] = (),
    *,
    beside_finals: bool = False,
) -> ReviewBatch:
    """The review's view of a batch: ``checked`` as :func:`generator.pipeline.check_batch` returned
    it
    before the batch was generated, ``result`` as :func:`generator.pipeline.generate` returned it,
    and
    ``earlier``: the manifest entries of the documents (of the same kind: final or draft) an
    earlier run left in the folder and this one did not make. ``beside_finals``: the folder
    holds final documents (:attr:`.ReviewBatch.beside_finals`)."""
    report = checked.report
    pool = report.pool
    assert pool is not None
    documents = {d.row: d for d in result.documents}
    errors: dict[int, list[dict[str, object]]] = {}
    for e in result.errors:
        row = e.get("row")
        if isinstance(row, int):
            errors.setdefault(row, []).append(e)
    grants: list[ReviewGrant] = []
    added = recorded_before = 0  # shares this batch records; shares it made documents for again
    by_row = report.by_row()
    refused = report.refused_rows  # (worked out once: a property over every finding)
    for rec in checked.grants.records:
        findings = [f.as_dict() for f in by_row.get(rec.row, [])]
        seen = {str(f["message"]) for f in findings}
        findings += [e for e in errors.get(rec.row, []) if str(e.get("message")) not in seen]
        doc = documents.get(rec.row)
        status: Status
        if doc is not None:
            status = "draft" if result.draft else "generated"
            held = pool.adjusted_shares(rec.shares, rec.grant_date)  # as the reserve counts it
            if not any(f.get("rule") == "already-recorded" for f in findings):
                added += held
            else:
                recorded_before += held
        elif rec.row in refused or any(
            e.get("rule") not in FAILURE_RULES for e in errors.get(rec.row, [])
        ):
            status = "refused"
        else:
            status = "failed"
        grants.append(_review_grant(rec, report.facts.get(rec.row), status, findings, doc))
    untermed = 0
    for entry in earlier:
        grant = earlier_grant(entry, draft=result.draft)
        grants.append(grant)
        if grant.shares is None:
            untermed += 1
        elif grant.grant_id in pool.known:
            recorded_before += grant.shares
        else:
            added += grant.shares
    grants += _unread(report, {r.row for r in checked.grants.records})
    grants.sort(key=lambda g: g.row)
    reserve = batch_reserve(pool, checked.plan, checked.grants.records)
    return ReviewBatch(
        out=result.out,
        plan=checked.plan,
        grants=grants,
        reserve=reserve,
        available_before=reserve - pool.used,
        available_after=reserve - pool.used - added,
        already_recorded=recorded_before,
        draft=result.draft,
        findings=[f.as_dict() for f in report.findings if f.row is None],
        untermed=untermed,
        consent_date=checked.consent_date,
        beside_finals=beside_finals,
    )


def _review_grant(
    rec: GrantRecord,
    facts: Facts | None,
    status: Status,
    findings: list[dict[str, object]],
    doc: Document | None,
) -> ReviewGrant:
    """A grant of this run as the review shows it."""
    return ReviewGrant(
        row=rec.row,
        grant_id=rec.grant_id,
        participant=rec.participant,
        grant_date=rec.grant_date,
        shares=rec.shares,
        exercise_price=rec.exercise_price,
        price_source=facts.price_source if facts else "not checked",
        final_exercise_date=facts.final_exercise_date if facts else None,
        status=status,
        findings=findings,
        docx=Path(doc.docx) if doc else None,  # relative to the batch folder
        pdf=Path(doc.pdf) if doc else None,
        vesting=one_line(facts.schedule, facts.vesting) if facts else "",
        award_type=rec.award_type,
        first_vests=facts.vesting[0].day if facts and facts.vesting else None,
    )


def _unread(report: Report, rows: set[int]) -> list[ReviewGrant]:
    """The rows refused because they could not be read (not among ``rows``, those read)."""
    unread: dict[int, list[dict[str, object]]] = {}
    for f in report.findings:
        if f.row is not None and f.row not in rows:
            unread.setdefault(f.row, []).append(f.as_dict())
    grants = []
    for row, found in unread.items():
        named = next((f.get("grant_id") for f in found if f.get("grant_id")), None)
        grants.append(
            ReviewGrant(
                row=row,
                grant_id=str(named or ""),
                participant="",
                grant_date=None,
                shares=None,
                exercise_price=None,
                price_source="not checked",
                final_exercise_date=None,
                status="refused",
                findings=found,
            )
        )
    return grants


def earlier_grant(entry: Listed, *, draft: bool) -> ReviewGrant:
    """A document an earlier run left in the folder, from its manifest entry (its terms are
    None when the entry does not record them, or not as numbers and a date: made by an
    earlier grantgen)."""
    doc = entry.data

    def day(value: object) -> date | None:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None

    try:
        shares: int | None = int(doc["shares"])
        price: Decimal | None = Decimal(str(doc["exercise_price"]))
        granted = day(doc["grant_date"])
    except (KeyError, TypeError, ValueError, ArithmeticError):
        shares = price = granted = None
    if granted is None:
        shares = price = None
    source = doc.get("input")
    note = {
        "row": doc.get("row"),
        "column": None,
        "grant_id": doc.get("grant_id"),
        "rule": "earlier-run",
        "section": "output",
        "severity": "note",
        "message": "made by an earlier run"
        + (f" from {source}" if source else "")
        + "; its files are unchanged",
    }
    found = doc.get("findings")
    recorded = doc.get("deviations")
    deviations = None
    if isinstance(recorded, list):
        parsed = [Deviation.from_dict(d) for d in recorded]
        deviations = None if None in parsed else tuple(d for d in parsed if d is not None)
    return ReviewGrant(
        row=int(doc.get("row") or 0),
        grant_id=str(doc.get("grant_id") or ""),
        participant=str(doc.get("participant") or ""),
        grant_date=granted,
        shares=shares,
        exercise_price=price,
        price_source=str(doc.get("price_source") or "not recorded"),
        final_exercise_date=day(doc.get("final_exercise_date")),
        status="draft" if draft else "generated",
        findings=[*(found if isinstance(found, list) else []), note],
        docx=Path(str(doc["docx"])),
        pdf=Path(str(doc["pdf"])),
        deviations=deviations,
        vesting=str(doc.get("vesting") or ""),
        award_type=str(doc.get("award_type") or "option"),
        first_vests=_first_vests(doc.get("installments"), day),
    )


def _first_vests(installments: object, day: Any) -> date | None:
    """The first installment's day of a manifest entry's ``installments``."""
    if isinstance(installments, list) and installments and isinstance(installments[0], dict):
        found = day(installments[0].get("date"))
        return found if isinstance(found, date) else None
    return None


def expected_consent(
    todo: list[GrantRecord], earlier: Manifest | None, report: Report, *, draft: bool
) -> list[ConsentGrant]:
    """The consent's rows if every grant to make is made: with the documents of the same kind
    the folder's manifest lists that this run does not make again, in the order the review
    puts them (by row, this run's first)."""
    rows = [
        (
            r.row,
            ConsentGrant(
                r.participant,
                r.shares,
                r.exercise_price,
                r.grant_date,
                r.award_type,
                r.grant_id,
                report.facts[r.row].final_exercise_date if r.row in report.facts else None,
            ),
        )
        for r in todo
    ]
    ids = {r.grant_id for r in todo}
    for doc in earlier.documents if earlier is not None else []:
        if doc.is_draft != draft or doc.grant_id in ids:
            continue
        grant = earlier_grant(doc, draft=draft)
        if grant.shares is not None and grant.exercise_price is not None and grant.grant_date:
            rows.append(
                (
                    grant.row,
                    ConsentGrant(
                        grant.participant,
                        grant.shares,
                        grant.exercise_price,
                        grant.grant_date,
                        grant.award_type,
                        grant.grant_id,
                        grant.final_exercise_date,
                    ),
                )
            )
    return [grant for _, grant in sorted(rows, key=lambda item: item[0])]
