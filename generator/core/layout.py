"""The names of a batch folder's files: what ``generate`` writes, what ``sign`` and ``accept``
add beside it, and where set-aside copies and the review go.

A batch folder holds, for each grant (``<stem>`` is its id made safe for a file name)::

    <stem>.docx, <stem>.pdf                  the agreement and its signature packet
    <stem>.draft.docx, <stem>.draft.pdf      the same made with --draft
    <stem>.signed.pdf                        the packet signed for the Company
    <stem>.countersigned.pdf                 the signed copy signed by the participant
    <stem>.<field>.countersigned.pdf         ... signed on another field (less _signature)
    <stem>.accepted.pdf                      the participant's returned copy, accepted
    <stem>.accepted-paper.<ext>              the scan of a paper acceptance

and for the batch ``manifest.json`` (with ``.manifest.json.signing``, the journal of a ``sign``
run until the manifest holds it), ``review/`` (its files named here too) and ``superseded/``.
Every stage names these files through this module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MANIFEST = "manifest.json"
"""The manifest that lists the folder's documents (:mod:`generator.terms.manifest`)."""
REVIEW_DIR = "review"
"""The review folder counsel reads (:mod:`generator.reviewing.review`)."""
SUPERSEDED_DIR = "superseded"
"""Where signed copies of replaced packets are moved (:mod:`generator.core.superseded`)."""

DRAFT = ".draft"
"""What a draft's stem ends with, before its extension."""
DRAFT_SUFFIX = DRAFT + ".pdf"
SIGNED_SUFFIX = ".signed.pdf"
"""The copy signed for the Company, beside ``<stem>.pdf``."""
COUNTERSIGNED_SUFFIX = ".countersigned.pdf"
"""A signed copy signed again on top (by the participant, or on another field)."""
ACCEPTED_SUFFIX = ".accepted.pdf"
"""A participant's returned copy, accepted by ``grantgen accept``."""
PAPER_SUFFIX = ".accepted-paper"
"""The scan of a paper acceptance (``<stem>.accepted-paper.<ext>``)."""


def grant_files(stem: str) -> tuple[str, str]:
    """A grant's agreement and packet: ``<stem>.docx``, ``<stem>.pdf``."""
    return f"{stem}.docx", f"{stem}.pdf"


def manifest_path(folder: Path) -> Path:
    """The manifest of the batch in ``folder``."""
    return folder / MANIFEST


def journal_path(manifest: Path) -> Path:
    """Where ``grantgen sign`` notes each signature as it is made, until the manifest holds it."""
    return manifest.with_name(f".{manifest.name}.signing")


def is_draft_name(name: str) -> bool:
    """A draft packet's file name (``<stem>.draft.pdf``)."""
    return name.endswith(DRAFT_SUFFIX)


def stem_name(stem: str, *, draft: bool) -> str:
    """The stem of a grant's files: ``<stem>`` or ``<stem>.draft``."""
    return stem + DRAFT if draft else stem


def signed_name(pdf: Path) -> Path:
    """Where the Company's signed copy of ``<stem>.pdf`` goes: ``<stem>.signed.pdf``."""
    return pdf.with_name(pdf.stem + SIGNED_SUFFIX)


PARTICIPANT_FIELD = "participant_signature"
"""The participant's signature field: its copy is ``<stem>.countersigned.pdf``."""


def countersigned_name(pdf: Path, field: str = PARTICIPANT_FIELD) -> Path:
    """Where a copy signed on top of ``pdf`` (``<stem>.pdf`` or ``<stem>.signed.pdf``) goes:
    the participant's is ``<stem>.countersigned.pdf``; another field's (a second officer, a
    spouse's consent) is ``<stem>.<field less _signature>.countersigned.pdf``, so each has its
    own."""
    stem = pdf.name.removesuffix(SIGNED_SUFFIX).removesuffix(".pdf")
    if field != PARTICIPANT_FIELD:
        stem += "." + field.removesuffix("_signature")
    return pdf.with_name(stem + COUNTERSIGNED_SUFFIX)


def grant_stem(name: str) -> str:
    """The stem of a packet's file name: ``<stem>`` of ``<stem>.pdf``, ``<stem>.signed.pdf`` or
    ``<stem>.countersigned.pdf``."""
    return name.removesuffix(SIGNED_SUFFIX).removesuffix(COUNTERSIGNED_SUFFIX).removesuffix(".pdf")


# --- the review folder's files ---------------------------------------------------------------

SUMMARY_HTML, SUMMARY_CSV, SUMMARY_XLSX = "summary.html", "summary.csv", "summary.xlsx"
TOTALS_CSV, FORM4_CSV = "totals.csv", "form4.csv"
CONSENT_DOCX = "board_consent.docx"
"""The Board consent (also the name of the consent's template in a kit)."""

PACKET_NAME = re.compile(r"packet(-\d+-of-\d+)?(\.draft)?\.pdf")
"""A review packet's name: ``packet.pdf`` or a volume's, final or draft."""


def review_name(name: str, draft: bool) -> str:
    """A review file's name: ``summary.html``, or ``summary.draft.html`` for a draft run's
    files beside a final batch's review."""
    if not draft:
        return name
    stem, _, extension = name.rpartition(".")
    return f"{stem}.draft.{extension}"


def packet_name(number: int, volumes: int, *, draft: bool = False) -> str:
    """``packet.pdf``, or the ``number``-th of ``volumes`` (``packet-02-of-12.pdf``); with
    ``.draft`` before ``.pdf`` for drafts."""
    if volumes == 1:
        return review_name("packet.pdf", draft)
    width = max(2, len(str(volumes)))
    return review_name(f"packet-{number:0{width}d}-of-{volumes:0{width}d}.pdf", draft)


def consent_name(aside: bool) -> str:
    """``board_consent.docx``; ``board_consent.draft.docx`` for drafts beside a final batch's
    consent (a draft run never replaces it)."""
    return review_name(CONSENT_DOCX, aside)


def foreign_folder(out: Path) -> str | None:
    """Why ``out`` holds someone else's files that a batch would overwrite (a
    ``manifest.json`` grantgen did not write, a ``review/`` folder without a batch), or None
    when it is a batch folder, or holds neither."""
    manifest = manifest_path(out)
    if manifest.exists() or manifest.is_symlink():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "its manifest.json is not one grantgen wrote (it is not JSON)"
        made_by = data.get("generator") if isinstance(data, dict) else None
        if not (isinstance(made_by, str) and made_by.startswith("grantgen")):
            return "its manifest.json is not one grantgen wrote"
        return None
    review = out / REVIEW_DIR
    if review.is_dir() and not review.is_symlink():
        # a first run killed before its manifest leaves review files of grantgen's names:
        # a rerun takes them over; a file of another name is someone's own
        theirs = sorted(p.name for p in review.iterdir() if not _REVIEW_FILE.fullmatch(p.name))
        if theirs:
            return f"its review/ folder holds {theirs[0]!r}, not a file of a grantgen review"
    return None


#: The names of the files a review folder of grantgen's holds (and their unfinished parts).
_REVIEW_FILE = re.compile(
    r"\.?(summary\.(html|csv|xlsx)|(totals|form4)\.csv|packet(-\d+-of-\d+)?\.pdf"
    r"|board_consent\.(docx|pdf)"
    r"|(summary|totals|form4|packet(-\d+-of-\d+)?|board_consent)\.draft\.(html|csv|xlsx|pdf|docx))"
    r"(\.[0-9a-z_]+\.part)?"
)
