"""Where the files grantgen ships with live: templates, plan files, the approved form text.

In a source checkout (or an editable install) they are the top-level ``templates/`` and
``data/`` folders beside the package. A wheel installs copies under ``<prefix>/share/grantgen/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]  # generator/core/resources.py: the checkout
_INSTALLED = Path(sys.prefix) / "share" / "grantgen"


def _root() -> Path:
    if (_CHECKOUT / "templates" / "nso_agreement.docx").is_file():
        return _CHECKOUT
    return _INSTALLED


def templates_dir() -> Path:
    """The folder of the bundled Word templates."""
    return _root() / "templates"


def default_plan() -> Path:
    """The bundled plan file (the Art Technology Group 1999 plan)."""
    return _root() / "data" / "plans" / "atg-1999.toml"


def form_text() -> Path:
    """The approved form (plan, agreement, acceptance page, Amendment No. 1) as plain text."""
    return _root() / "data" / "forms" / "atg-1999-exhibit-10.3.txt"


def kits_dir() -> Path:
    """The folder of the bundled example kits (``grantgen init`` copies one)."""
    return _root() / "data" / "kits"
