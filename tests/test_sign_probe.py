"""grantgen sign / verify: the defects a probe of issue 7 found, each reproduced on a real batch.

The batches, the test PKI and the CLI runner are those of tests/test_signing.py.
"""
# ruff: noqa: F811 - the fixtures imported from test_signing are parameters here

from __future__ import annotations

from pathlib import Path

from .signing_tools import Pki, make_encipher_only
from .test_signing import (  # noqa: F401 - fixtures
    batch,
    batches,
    pki,
    run,
)


def creds(pki: Pki) -> list[object]:
    return ["--cert", pki.officer_p12, "--passphrase-file", pki.passfile]


# --- 5. a certificate whose key usage forbids signing ------------------------------------------


def test_certificate_without_signing_key_usage_is_refused(
    batch: Path, pki: Pki, tmp_path: Path
) -> None:
    cert, key = make_encipher_only(tmp_path, pki.ca)
    result = run("sign", batch, "--cert", cert, "--key", key)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {cert}: ") and "key usage does not allow signing" in line
    assert "keyEncipherment" in line
    assert not list(batch.glob("*.signed.pdf"))
