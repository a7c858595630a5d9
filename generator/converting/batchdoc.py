"""Batch conversion: many rendered agreements in one DOCX, one LibreOffice run, one PDF split
back into one page range per agreement.

Starting LibreOffice and loading a document cost far more than laying out a few more pages,
so the convert stage hands LibreOffice one document holding a chunk of agreements. Each
agreement becomes its own section (or sections): it starts on a new page, its page numbers
restart at 1, and it keeps its own rendered headers and footers. A bookmark at the start of
each agreement becomes a named destination in the PDF, which says where to split.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import posixpath
import re
from collections.abc import Sequence

from lxml import etree

from generator.assembling.fieldplace import ACCEPTANCE_TITLE, SIGNATURE_FIELDS
from generator.rendering.package import XML_DECLARATION, zip_files
from generator.rendering.render import Prepared, Rendered

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_REF_TYPES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer",
)
#: LibreOffice PDF export options: Writer bookmarks become PDF named destinations.
PDF_FILTER = (
    'pdf:writer_pdf_Export:{"ExportBookmarksToPDFDestination":{"type":"boolean","value":"true"},'
    '"SelectPdfVersion":{"type":"long","value":"2"},'
    '"UseTaggedPDF":{"type":"boolean","value":"true"}}'
)
"""LibreOffice's PDF export: PDF/A-2b, tagged, bookmarks as named destinations (which find
each agreement's pages in a batch document)."""


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def marker(index: int) -> str:
    """The bookmark (and PDF destination) name at the start of the index-th document."""
    return f"grantgen{index:06d}"


#: The texts the packet is assembled around (:mod:`generator.assembling.assemble`): the signature
#: blocks' labels
#: and the acceptance page's title. A bookmark on each tells on which page it came out.
LANDMARKS = (*(spec.label for spec in SIGNATURE_FIELDS), ACCEPTANCE_TITLE)


def landmark_marker(index: int, number: int) -> str:
    """The bookmark at the ``number``-th landmark of the ``index``-th document."""
    return f"{marker(index)}l{number}"


_TAG = re.compile(r"<[^>]+>")
_FIELD = re.compile(r"<w:(?:fldSimple|instrText)\b")
_PAGE_FIELDS = re.compile(
    r"<w:instrText[^>]*>\s*(?:PAGE|NUMPAGES|SECTIONPAGES)(?:\s+\\\*\s*\w+)?\s*</w:instrText>"
)


def bookmark_marker(index: int, number: int) -> str:
    """What the ``number``-th of the named bookmarks (signature lines, the acceptance page's
    start) of the ``index``-th document is renamed to in a batch document (unique there)."""
    return f"{marker(index)}b{number}"


def lo_destination(name: str) -> str:
    """The named destination LibreOffice makes of a Writer bookmark: each character but
    ASCII letters and digits written as its hex code (``company_signature`` ->
    ``company5Fsignature``)."""
    return "".join(c if c.isascii() and c.isalnum() else f"{ord(c):X}" for c in name)


_BOOKMARK_START = re.compile(r"<w:bookmarkStart\b[^>]*>")
_ATTR = re.compile(r"""\bw:(id|name)=["']([^"']*)["']""")


def rename_bookmarks(xml: str, index: int, names: Sequence[str]) -> str:
    """The bookmarks of a document's XML named in ``names`` renamed (and given ids of their
    own) as :func:`bookmark_marker` says: the same bookmark in every agreement of a batch
    becomes one named destination per agreement."""
    if not names or "bookmarkStart" not in xml:
        return xml
    ids: dict[str, str] = {}

    def start(m: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(m.group()))
        name = html.unescape(attrs.get("name", ""))
        if name not in names or "id" not in attrs:
            return m.group()
        number = names.index(name)
        new_id = str(_bookmark_id(index, number))
        ids[attrs["id"]] = new_id
        return f'<w:bookmarkStart w:id="{new_id}" w:name="{bookmark_marker(index, number)}"/>'

    xml = _BOOKMARK_START.sub(start, xml)
    if not ids:
        return xml

    def end(m: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(m.group()))
        new_id = ids.get(attrs.get("id", ""))
        return m.group() if new_id is None else f'<w:bookmarkEnd w:id="{new_id}"/>'

    return re.sub(r"<w:bookmarkEnd\b[^>]*>", end, xml)


def _bookmark_id(index: int, number: int) -> int:
    """The id of a renamed bookmark (apart from the start and landmark marks' ids)."""
    return 700000 + index * 20 + number


def combine(prep: Prepared, docs: Sequence[Rendered], names: Sequence[str] = ()) -> bytes:
    """One DOCX holding every document of ``docs``, each in its own sections; the bookmarks
    ``names`` lists renamed in each (:func:`rename_bookmarks`)."""
    if not docs:
        raise ValueError("nothing to combine")
    files = dict(prep.files)
    rels = etree.fromstring(files["word/_rels/document.xml.rels"])
    types = etree.fromstring(files["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.get("PartName")}
    by_member: dict[str, tuple[str, str]] = {}  # member -> (rId, type)
    for rel in rels:
        if rel.get("Type") in _REF_TYPES and rel.get("TargetMode") != "External":
            member = posixpath.normpath(posixpath.join("word", rel.get("Target", "")))
            by_member[member] = (rel.get("Id", ""), rel.get("Type", ""))

    pieces: list[str] = []
    numbering = _plain(prep.files.get("word/numbering.xml", b"").decode("utf-8", "replace"))
    for index, doc in enumerate(docs):
        remap: dict[str, str] = {}
        for n, (member, xml) in enumerate(sorted(doc.parts.items())):
            if member not in by_member:
                continue  # footnotes: shared by the whole batch
            old_id, kind = by_member[member]
            folder, name = posixpath.split(member)
            new_member = posixpath.join(folder, f"gg{index:06d}_{name}")
            new_id = f"rIdGg{index}n{n}"
            files[new_member] = XML_DECLARATION + xml
            own_rels = posixpath.join(folder, "_rels", f"{name}.rels")
            if own_rels in prep.files:
                files[posixpath.join(folder, "_rels", f"gg{index:06d}_{name}.rels")] = prep.files[
                    own_rels
                ]
            rel = etree.SubElement(rels, f"{{{PKG}}}Relationship")
            rel.set("Id", new_id)
            rel.set("Type", kind)
            rel.set("Target", posixpath.relpath(new_member, "word"))
            override = etree.SubElement(types, f"{{{CT}}}Override")
            override.set("PartName", "/" + new_member)
            override.set("ContentType", overrides.get("/" + member, ""))
            remap[old_id] = new_id
        last = index == len(docs) - 1
        if names:
            doc = dataclasses.replace(doc, body=rename_bookmarks(doc.body, index, names))
        pieces.append(
            _fast_piece(doc, index, last, remap, prep.head, numbering)
            or _piece(doc, index, last, remap, prep.head, numbering)
        )

    files["word/_rels/document.xml.rels"] = etree.tostring(
        rels, xml_declaration=True, encoding="UTF-8", standalone=True
    )
    files["[Content_Types].xml"] = etree.tostring(
        types, xml_declaration=True, encoding="UTF-8", standalone=True
    )
    document = prep.head + f'<w:body xmlns:w="{W}">' + "".join(pieces) + "</w:body>" + prep.tail
    files["word/document.xml"] = document.encode("utf-8")
    return zip_files(files, store=True)


def _piece(
    doc: Rendered, index: int, last: bool, remap: dict[str, str], head: str, numbering: str
) -> str:
    """The document's body children for the batch document: header and footer references
    renamed (``remap``), its start and landmarks bookmarked, its first section starting a new
    page numbered from 1, and (unless ``last``) its final section properties made a section
    break in its last paragraph."""
    body = etree.fromstring(doc.body.encode("utf-8"))
    for ref in body.iter(w("headerReference"), w("footerReference")):
        old = ref.get(f"{{{R}}}id")
        if old in remap:
            ref.set(f"{{{R}}}id", remap[old])
    _mark_start(body, index)
    _mark_landmarks(body, index, doc, numbering)
    _restart_section(body)
    children = list(body)
    if not last and children and children[-1].tag == w("sectPr"):
        _end_section(body, children[-1])
    return _inner(body, head)


# --- the same, on the XML text (no tree built: most of a batch document's cost) --------------

_BODY_OPEN = re.compile(r"<w:body\b([^>]*)>")
_XMLNS = re.compile(r"""\sxmlns(?::([\w.-]+))?=["']([^"']*)["']""")
_P_OPEN = re.compile(r"<w:p(?=[\s>/])[^>]*>")
_TEXT = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
_REF_ID = re.compile(r"""(<w:(?:header|footer)Reference\b[^>]*?\sr:id=")([^"]*)(")""")
_SECT_TYPE = re.compile(r"""(<w:type\b[^>]*?\sw:val=")(?:continuous|nextColumn)(")""")
_PG_NUM = re.compile(r"<w:pgNumType\b([^>]*?)(/?)>")
#: What the text version leaves to the tree version: nested paragraphs (text boxes, alternate
#: content), tracked section changes (a section inside a section), CDATA, comments, processing
#: instructions.
_TREE_ONLY = ("txbxContent", "AlternateContent", "sectPrChange", "<!", "<?")


def _bookmark(mark: int, name: str) -> str:
    return f'<w:bookmarkStart w:id="{mark}" w:name="{name}"/><w:bookmarkEnd w:id="{mark}"/>'


def _after_properties(xml: str, at: int) -> int:
    """Where a paragraph's content starts: after its ``w:pPr`` (``at``: after its start tag)."""
    skip = at + len(xml[at : at + 64]) - len(xml[at : at + 64].lstrip())
    if not xml.startswith("<w:pPr", skip) or xml[skip + 6 : skip + 7] not in (">", "/", " "):
        return at
    close = xml.index(">", skip)
    if xml[close - 1] == "/":
        return close + 1
    return xml.index("</w:pPr>", close) + len("</w:pPr>")


def _fast_piece(
    doc: Rendered, index: int, last: bool, remap: dict[str, str], head: str, numbering: str
) -> str | None:
    """:func:`_piece` done on the XML text; None when the body is one the text version leaves
    to the tree (other namespace prefixes, nested paragraphs, ...). Gives the same elements."""
    source = doc.body
    opened = _BODY_OPEN.match(source)
    if opened is None or not source.endswith("</w:body>") or opened.group(1).endswith("/"):
        return None
    declared = {prefix or "": uri for prefix, uri in _XMLNS.findall(opened.group(1))}
    if declared.get("w") != W or declared.get("r", R) != R or "" in declared:
        return None
    if any(f'xmlns:{prefix}="{uri}"' not in head for prefix, uri in declared.items()):
        return None
    if any(marker_text in source for marker_text in _TREE_ONLY):
        return None
    xml = source[opened.end() : -len("</w:body>")]
    if remap:
        xml = _REF_ID.sub(
            lambda m: m.group(1) + remap.get(m.group(2), m.group(2)) + m.group(3), xml
        )
    # bookmarks: (where, text), put in from the end so that earlier places stay put
    inserts: list[tuple[int, str]] = []
    first = _P_OPEN.search(xml)
    start = _bookmark(_start_id(index), marker(index))
    if first is None:
        xml = f"<w:p>{start}</w:p>" + xml
    elif first.group(0).endswith("/>"):
        xml = xml[: first.start()] + first.group(0)[:-2] + f">{start}</w:p>" + xml[first.end() :]
    else:
        inserts.append((_after_properties(xml, first.end()), start))
    inserts += _landmark_inserts(xml, index, doc, numbering)
    for at, text in sorted(inserts, key=lambda item: item[0], reverse=True):
        xml = xml[:at] + text + xml[at:]
    restarted = _restart_text(xml)
    if restarted is None:
        return None
    return restarted if last else _end_section_text(restarted)


def _landmark_inserts(xml: str, index: int, doc: Rendered, numbering: str) -> list[tuple[int, str]]:
    """:func:`_mark_landmarks` on the text: where each landmark's bookmark goes."""
    starts: list[int] = []  # where each paragraph's content starts
    texts: list[str] = []
    for found in _P_OPEN.finditer(xml):  # (no paragraph holds another here: see _TREE_ONLY)
        if found.group(0).endswith("/>"):
            continue
        own = "".join(_TEXT.findall(xml, found.end(), xml.find("</w:p>", found.end())))
        starts.append(found.end())
        texts.append(html.unescape(own) if "&" in own else own)
    return [
        (_after_properties(xml, starts[n]), _bookmark(_landmark_id(index, number), name))
        for n, (number, name) in _landmark_choice(texts, index, doc, numbering).items()
    ]


def _restart_text(xml: str) -> str | None:
    """:func:`_restart_section` on the text (None: a section the text version cannot read)."""
    at = xml.find("<w:sectPr")
    if at < 0:
        return xml
    if xml[at + 9 : at + 10] not in (">", "/", " "):
        return None
    close = xml.index(">", at)
    if xml[close - 1] == "/":  # <w:sectPr/>: nothing in it
        end = close + 1
        sect = xml[at : close - 1].rstrip() + ">" + '<w:pgNumType w:start="1"/></w:sectPr>'
        return xml[:at] + sect + xml[end:]
    end = xml.index("</w:sectPr>", close) + len("</w:sectPr>")
    sect = _SECT_TYPE.sub(lambda m: m.group(1) + "nextPage" + m.group(2), xml[at:end])
    numbering = _PG_NUM.search(sect)
    if numbering is None:
        cols = sect.find("<w:cols")
        where = cols if cols >= 0 else len(sect) - len("</w:sectPr>")
        sect = sect[:where] + '<w:pgNumType w:start="1"/>' + sect[where:]
    elif "w:start=" not in numbering.group(1):
        attrs = numbering.group(1) + ' w:start="1"'
        sect = (
            sect[: numbering.start()]
            + f"<w:pgNumType{attrs}{numbering.group(2)}>"
            + sect[numbering.end() :]
        )
    return xml[:at] + sect + xml[end:]


def _end_section_text(xml: str) -> str:
    """:func:`_end_section` on the text: the body's final section properties, if it ends with
    them, moved into its last paragraph (a new one when it ends with a table)."""
    body = xml.rstrip()
    if body.endswith("</w:sectPr>") or (body.endswith("/>") and body.rfind("<w:sectPr") >= 0):
        at = body.rfind("<w:sectPr")
        if body.endswith("/>") and body.find(">", at) != len(body) - 1:
            return xml  # ends with another empty element
    else:
        return xml
    sect, rest = body[at:], body[:at]
    kept = rest.rstrip()
    paragraphs = list(_P_OPEN.finditer(kept))
    final = paragraphs[-1] if paragraphs else None
    if final is not None and kept.endswith("</w:p>"):
        content = _after_properties(kept, final.end())
        if content == final.end():  # no properties yet
            return kept[:content] + f"<w:pPr>{sect}</w:pPr>" + kept[content:]
        if kept[content - 2 : content] == "/>":  # <w:pPr/>
            props = kept.rfind("<w:pPr", 0, content)
            return kept[:props] + f"<w:pPr>{sect}</w:pPr>" + kept[content:]
        close = content - len("</w:pPr>")
        return kept[:close] + sect + kept[close:]
    if final is not None and final.end() == len(kept) and final.group(0).endswith("/>"):
        return kept[: final.start()] + final.group(0)[:-2] + f"><w:pPr>{sect}</w:pPr></w:p>"
    return kept + f"<w:p><w:pPr>{sect}</w:pPr></w:p>"


def _inner(body: etree._Element, head: str) -> str:
    """The body's children as XML. Serialised in one piece, so the namespace declarations are
    written once on the body (and dropped with it: the document element declares them),
    not once on every paragraph; a prefix the document element lacks keeps them per child."""
    declared = (
        prefix is not None and f'xmlns:{prefix}="{uri}"' in head
        for prefix, uri in body.nsmap.items()
    )
    if not all(declared):
        return "".join(etree.tostring(child, encoding="unicode") for child in body)
    if len(body) == 0:
        return ""
    xml: str = etree.tostring(body, encoding="unicode")
    return xml[xml.index(">") + 1 : xml.rindex("</")]


def _mark_start(body: etree._Element, index: int) -> None:
    """A bookmark at the start of the first paragraph: the split point."""
    first = next(body.iter(w("p")), None)
    if first is None:
        first = etree.Element(w("p"))
        body.insert(0, first)
    _insert_bookmark(first, _start_id(index), marker(index))


def _start_id(index: int) -> int:
    """The bookmark id of a document's start mark."""
    return 900000 + index


def _plain(xml: str) -> str:
    """The text of some Word XML, tags dropped (runs joined), case folded: for counting."""
    return html.unescape(_TAG.sub("", xml)).casefold()


def _landmark_choice(
    texts: Sequence[str], index: int, doc: Rendered, numbering: str
) -> dict[int, tuple[int, str]]:
    """Which paragraphs (by their place in ``texts``, the document's paragraphs' text in
    order) get which landmark's bookmark: (landmark number, bookmark name).

    A landmark is bookmarked when it is the only place the document has that text (its body,
    headers, footers and list labels, in any case): then no other page of the PDF can show
    it, and :func:`generator.converting.batchpdf.split_marked` says which page does. A text that
    appears twice, or inside a
    longer paragraph, or a document whose fields compute text (other than page numbers), gets
    no bookmark."""
    parts = [x.decode("utf-8", "replace") for x in doc.parts.values()]
    for xml in (doc.body, *parts):
        if ("fldSimple" in xml or "instrText" in xml) and len(_FIELD.findall(xml)) > len(
            _PAGE_FIELDS.findall(xml)
        ):
            return {}
    folded = [text.casefold() for text in texts]
    every = "\n".join([*folded, *(_plain(x) for x in parts), numbering])
    wanted = {
        label.casefold(): number
        for number, label in enumerate(LANDMARKS)
        if every.count(label.casefold()) == 1
    }
    chosen: dict[int, tuple[int, str]] = {}
    for n, own in enumerate(folded):  # in document order
        if not wanted:
            break
        number = wanted.pop(own.strip(), None)
        if number is not None:
            chosen[n] = (number, landmark_marker(index, number))
    return chosen


def _landmark_id(index: int, number: int) -> int:
    """The bookmark id of a landmark (apart from the start marks' ids)."""
    return 800000 + index * 10 + number


def _mark_landmarks(body: etree._Element, index: int, doc: Rendered, numbering: str) -> None:
    """A bookmark at the start of the paragraph holding each landmark (see
    :func:`_landmark_choice`)."""
    paragraphs = list(body.iter(w("p")))
    texts = ["".join(t.text or "" for t in paragraph.iter(w("t"))) for paragraph in paragraphs]
    for n, (number, name) in _landmark_choice(texts, index, doc, numbering).items():
        _insert_bookmark(paragraphs[n], _landmark_id(index, number), name)


def _insert_bookmark(paragraph: etree._Element, mark: int, name: str) -> None:
    """An empty bookmark at the start of the paragraph's content (after its properties)."""
    at = 1 if len(paragraph) and paragraph[0].tag == w("pPr") else 0
    start, end = etree.Element(w("bookmarkStart")), etree.Element(w("bookmarkEnd"))
    start.set(w("id"), str(mark))
    start.set(w("name"), name)
    end.set(w("id"), str(mark))
    paragraph.insert(at, end)
    paragraph.insert(at, start)


def _restart_section(body: etree._Element) -> None:
    """The document's first section starts a new page and numbers its pages from 1."""
    sect = next(body.iter(w("sectPr")), None)
    if sect is None:
        return
    kind = sect.find(w("type"))
    if kind is not None and kind.get(w("val")) in ("continuous", "nextColumn"):
        kind.set(w("val"), "nextPage")
    numbering = sect.find(w("pgNumType"))
    if numbering is None:
        numbering = etree.Element(w("pgNumType"))
        cols = sect.find(w("cols"))
        if cols is not None:
            cols.addprevious(numbering)
        else:
            sect.append(numbering)
    if numbering.get(w("start")) is None:
        numbering.set(w("start"), "1")


def _end_section(body: etree._Element, sect: etree._Element) -> None:
    """Move the body's final section properties into its last paragraph (a section break)."""
    body.remove(sect)
    blocks = list(body)
    last = blocks[-1] if blocks else None
    if last is None or last.tag != w("p"):
        last = etree.SubElement(body, w("p"))
    ppr = last.find(w("pPr"))
    if ppr is None:
        ppr = etree.Element(w("pPr"))
        last.insert(0, ppr)
    ppr.append(copy.deepcopy(sect))
