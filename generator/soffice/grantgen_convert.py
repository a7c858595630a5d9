"""grantgen's conversion script, run inside LibreOffice (its Python, its main thread).

grantgen writes this file into each LibreOffice profile it uses
(:mod:`generator.converting.losession`)
and starts ``soffice`` on the script's :func:`serve`: it connects back to grantgen over the
Unix socket named by ``GRANTGEN_LO_SOCKET`` and converts each document it is sent, with the
arguments ``soffice --convert-to`` uses (``desktop/source/app/dispatchwatcher.cxx``), until it
is told to quit. It is never imported by grantgen itself: ``uno`` exists only in LibreOffice.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _props(*pairs: tuple[str, object]) -> tuple[Any, ...]:
    out = []
    for name, value in pairs:
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        out.append(prop)
    return tuple(out)


def serve(*args: object) -> None:
    """Convert each document grantgen sends (a JSON line: source, part, pdf, filter and its
    options), answering a JSON line each, until told to quit."""
    desktop = globals()["XSCRIPTCONTEXT"].getDesktop()  # set by LibreOffice as it runs us
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ["GRANTGEN_LO_SOCKET"])
    requests = sock.makefile("r", encoding="utf-8")

    def reply(**fields: object) -> None:
        sock.sendall((json.dumps(fields) + "\n").encode("utf-8"))

    reply(ready=True, pid=os.getpid())
    for line in requests:
        request = json.loads(line)
        if request.get("quit"):
            break
        try:
            doc = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(request["source"]),
                "_blank",
                0,
                _props(
                    ("Referer", "private:OpenEvent"),
                    ("ReadOnly", True),
                    ("OpenNewView", True),
                    ("Hidden", True),
                    ("Silent", True),
                ),
            )
            if doc is None:
                raise RuntimeError("LibreOffice could not load the document")
            try:
                doc.storeToURL(
                    uno.systemPathToFileUrl(request["part"]),
                    _props(
                        ("ConversionRequestOrigin", "CommandLine"),
                        ("Overwrite", True),
                        ("FilterName", request["filter"]),
                        ("FilterOptions", request["options"]),
                    ),
                )
            finally:
                try:
                    doc.close(True)
                except Exception:
                    doc.dispose()
            os.replace(request["part"], request["pdf"])
            reply(ok=True)
        except Exception as exc:
            reply(ok=False, error=f"{type(exc).__name__}: {exc}")
    sock.close()


g_exportedScripts = (serve,)
