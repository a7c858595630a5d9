"""Hidden text: whether a run of a Word document is printed, by its formatting and its styles.

Word's hidden-text property (``w:vanish``) can be set on a run itself (direct formatting), or
in the character style the run names (``w:rStyle``) or the paragraph style of its paragraph
(``w:pStyle``, else the document's default paragraph style), each style inheriting what its
``w:basedOn`` style sets. The readers disagree on how the levels combine:

* direct formatting decides when present, for Word and LibreOffice alike: ``<w:vanish/>``
  hides a run whatever its styles say, ``<w:vanish w:val="0"/>`` prints it;
* LibreOffice (which prints the PDF) takes the nearest setting: the character style's, else
  the paragraph style's, each the nearest along its ``basedOn`` chain;
* Word treats ``vanish`` as a toggle property (ECMA-376 §17.7.3): a style that sets it flips
  what the levels below it say (a hidden character style in a hidden paragraph style prints),
  and a style that sets it false changes nothing.

Text counts as hidden only when both would leave it out -- text either prints is compared
with the form, so hiding printed text can never make the deviation check miss it. Where the
readers are not modelled here (document defaults, the default character style or a table
style setting ``vanish``, two styles of one id), only direct formatting hides text. The run
properties of a paragraph mark (``w:pPr/w:rPr``) hide the mark only, never the paragraph's
text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docx.oxml import parse_xml
from lxml import etree

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: The ST_OnOff values read as on; any other (``0``, ``false``, a misspelt ``False`` or
#: ``none``, which LibreOffice prints) is off: text counts as hidden only when surely hidden.
_ON = ("1", "true", "on")


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def _on(element: Any) -> bool:
    """An ST_OnOff property's value (no ``w:val``: on)."""
    return element.get(_w("val"), "true") in _ON


def _vanish(props: Any) -> bool | None:
    """The ``w:vanish`` an ``rPr`` element sets, None when it sets none."""
    if props is None:
        return None
    mark = props.find(_w("vanish"))
    return None if mark is None else _on(mark)


#: What a style chain says: the nearest explicit ``vanish`` (None: none), and whether an odd
#: number of the chain's styles set it (Word's toggling, were it applied along ``basedOn``).
_Chain = tuple[bool | None, bool]
_NOTHING: _Chain = (None, False)


class HiddenText:
    """Which runs of a document are hidden, read with its style table (``word/styles.xml``;
    None: no styles, direct formatting alone decides)."""

    def __init__(self, styles_xml: bytes | None = None) -> None:
        self._paragraph: dict[str, _Chain] = {}
        self._character: dict[str, _Chain] = {}
        self._default: _Chain = _NOTHING
        self._by_styles = False
        root = None
        if styles_xml:
            try:
                root = parse_xml(styles_xml)  # python-docx's safe parser
            except etree.XMLSyntaxError:
                root = None  # nothing read: direct formatting alone decides
        if root is not None:
            self._read(root)

    def _read(self, root: Any) -> None:
        kinds: dict[str, dict[str, Any]] = {"paragraph": {}, "character": {}}
        defaults: dict[str, str] = {}
        trusted = _vanish(root.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{_w('rPr')}")) is None
        for style in root.iter(_w("style")):
            kind, sid = style.get(_w("type"), "paragraph"), style.get(_w("styleId"))
            if kind == "table" and next(style.iter(_w("vanish")), None) is not None:
                trusted = False  # a table style's vanish: how it combines is not modelled
            if kind not in kinds or sid is None:
                continue
            if sid in kinds[kind]:
                trusted = False  # two styles of one id: which one a reader takes is not known
            kinds[kind].setdefault(sid, style)
            if kind not in defaults and _on_attr(style, "default"):
                defaults[kind] = sid
        chains = {kind: _chains(styles) for kind, styles in kinds.items()}
        self._paragraph, self._character = chains["paragraph"], chains["character"]
        self._default = self._paragraph.get(defaults.get("paragraph", ""), _NOTHING)
        default_character = self._character.get(defaults.get("character", ""), _NOTHING)
        if default_character != _NOTHING:
            trusted = False  # Word and LibreOffice read the default character style differently
        hiding = any(v[0] or v[1] for c in chains.values() for v in c.values())
        self._by_styles = trusted and hiding  # (no style hides anything: nothing to look up)

    def __call__(self, run: Any) -> bool:
        """Whether ``run`` (a ``w:r`` element) is left out when the document is printed."""
        props = run.find(_w("rPr"))
        direct = _vanish(props)
        if direct is not None:
            return direct
        if not self._by_styles:
            return False
        character = _NOTHING
        if props is not None and (ref := props.find(_w("rStyle"))) is not None:
            character = self._character.get(ref.get(_w("val"), ""), _NOTHING)
        paragraph = self._default
        p = next(run.iterancestors(_w("p")), None)
        ppr = p.find(_w("pPr")) if p is not None else None
        if ppr is not None and (ref := ppr.find(_w("pStyle"))) is not None:
            paragraph = self._paragraph.get(ref.get(_w("val"), ""), self._default)
        libreoffice = character[0] if character[0] is not None else bool(paragraph[0])
        word = (character[0] is True) != (paragraph[0] is True)
        word_toggling = character[1] != paragraph[1]
        return libreoffice and word and word_toggling


def _on_attr(element: Any, name: str) -> bool:
    value = element.get(_w(name))
    return value is not None and value in _ON


def _chains(styles: Mapping[str, Any]) -> dict[str, _Chain]:
    """Each style's :data:`_Chain`, following ``basedOn`` within its kind (a loop ends it)."""
    out: dict[str, _Chain] = {}
    for sid in styles:
        nearest: bool | None = None
        odd = False
        seen: set[str] = set()
        at = sid
        while at in styles and at not in seen:
            seen.add(at)
            value = _vanish(styles[at].find(_w("rPr")))
            if nearest is None:
                nearest = value
            odd ^= value is True
            based = styles[at].find(_w("basedOn"))
            at = based.get(_w("val"), "") if based is not None else ""
        out[sid] = (nearest, odd)
    return out


#: Direct formatting alone: for a document read without its style table.
DIRECT = HiddenText()
