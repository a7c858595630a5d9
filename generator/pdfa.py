"""PDF/A-2b packets out of the tagged PDF/A-2b documents LibreOffice makes.

extract(src, pages, plan)   -> new Pdf: src pages[range] + all plan pages, with a rebuilt,
                               valid structure tree, ParentTree, RoleMap, /Lang, /MarkInfo
                               and OutputIntent.
Collection(out)             -> the same for pages of many sources (the review packet).
prepare_source(pdf)         -> ready a LibreOffice PDF for copying (subset names, ICC time).
tag_widget(pdf, widget, page_index, alt)
                            -> put an annotation (e.g. a signature widget added afterwards)
                               into the structure tree (Form element + OBJR + StructParent).
set_pdfa_metadata(pdf)      -> (re)write XMP from the Info dict (call after changing docinfo).
retag_fonts(pdf)            -> give every embedded subset a distinct tag from a hash of its
                               font program; returns {old BaseFont: new BaseFont}.
save_packet(pdf)            -> bytes, as grantgen saves (deterministic id, streams kept).

Why not ``out.copy_foreign(struct_elem)``: qpdf follows /P up to the StructTreeRoot and
/ParentTree, so copying ONE element drags the whole tree (5,600 objects for 150 pages) into
the packet, and /Pg references to pages that were not copied silently become null. So
elements are rebuilt here; only their attribute values are copied with copy_foreign, and
/Pg / OBJR references are mapped to the page and annotation copies that
``out.pages.extend`` already made (copy_foreign reuses them: no duplicated pages).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, String

PDFA_PART = "2"
PDFA_CONFORMANCE = "B"
#: LibreOffice writes PDF/A-2b as 1.6; pikepdf.new() would be saved as 1.3 without this.
MIN_VERSION = "1.6"
_STRUCT_SKIP = {"/P", "/K", "/Pg", "/S", "/Type"}


# --------------------------------------------------------------------------- structure index
@dataclass
class _Top:
    elem: pikepdf.Object
    lo: int  # first and last page index (in its Pdf) of any content in the element
    hi: int


@dataclass
class _Index:
    """Per source PDF, computed once: page numbers and the pages each top element spans."""

    page_index: dict[tuple[int, int], int]
    roots: list[pikepdf.Object]  # the StructTreeRoot's /K elements (LibreOffice: one Document)
    tops: dict[tuple[int, int], list[_Top]] = field(default_factory=dict)  # root -> children


_INDEX: dict[int, tuple[pikepdf.Pdf, _Index]] = {}


def _kids(obj: Any) -> list[Any]:
    k = obj.get("/K")
    if k is None:
        return []
    if isinstance(k, Array):
        return list(k)
    return [k]


def _span(elem: Any, pg: Any, page_index: dict[tuple[int, int], int], lohi: list[int]) -> None:
    """Widen lohi=[lo, hi] to every page that content of elem (recursively) is on."""
    pg = elem.get("/Pg", pg)
    mine = page_index.get(pg.objgen) if pg is not None else None
    if mine is not None:  # an element with a page counts even when empty
        lohi[0] = min(lohi[0], mine)
        lohi[1] = max(lohi[1], mine)
    for kid in _kids(elem):
        if isinstance(kid, Dictionary):
            if "/S" in kid:
                _span(kid, pg, page_index, lohi)
            elif "/Pg" in kid:
                n = page_index.get(kid.Pg.objgen)
                if n is not None:
                    lohi[0] = min(lohi[0], n)
                    lohi[1] = max(lohi[1], n)


def _index(pdf: pikepdf.Pdf) -> _Index:
    hit = _INDEX.get(id(pdf))
    if hit is not None and hit[0] is pdf:
        return hit[1]
    page_index = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
    str_root = pdf.Root.get("/StructTreeRoot")
    roots = _kids(str_root) if str_root is not None else []
    idx = _Index(page_index, roots)
    for root in roots:
        tops = []
        for kid in _kids(root):
            if isinstance(kid, Dictionary) and "/S" in kid:
                lohi = [1 << 30, -1]
                _span(kid, root.get("/Pg"), page_index, lohi)
                tops.append(_Top(kid, lohi[0], lohi[1]))
        idx.tops[root.objgen] = tops
    if len(_INDEX) >= 4:  # a small cache: a batch uses one chunk and one plan at a time
        _INDEX.clear()
    _INDEX[id(pdf)] = (pdf, idx)
    return idx


# --------------------------------------------------------------------------- rebuilding
def _import(out: pikepdf.Pdf, value: Any) -> Any:
    """A value of a foreign element's attribute (/A, /Alt, /C, /Lang ...) as out's own."""
    if isinstance(value, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
        if value.is_indirect:
            return out.copy_foreign(value)
        if isinstance(value, Array):
            return Array([_import(out, v) for v in value])
        return Dictionary({k: _import(out, v) for k, v in value.items()})
    return value


class _Builder:
    def __init__(self, out: pikepdf.Pdf, *, widgets: bool = True) -> None:
        self.out = out
        self.widgets = widgets  # False: form fields are left out of the copy (and the tree)
        # new page objgen -> {mcid: new elem}; new annotation objgen -> new elem
        self.by_page: dict[tuple[int, int], dict[int, pikepdf.Object]] = {}
        self.by_annot: dict[tuple[int, int], pikepdf.Object] = {}

    def copy(self, elem: Any, parent: Any, pg: Any, keep: Mapping[tuple[int, int], Any]) -> Any:
        """elem (foreign) rebuilt under parent (out's), keeping only content on pages in
        keep (foreign page objgen -> out page). None when nothing of it is kept."""
        pg = elem.get("/Pg", pg)  # /Pg is inherited
        pg_new = keep.get(pg.objgen) if pg is not None else None
        new = self.out.make_indirect(Dictionary(Type=Name.StructElem, S=elem.S, P=parent))
        kids: list[Any] = []  # ("mc", page, mcid, stm) | ("obj", page, annot) | elem
        had_content = False
        for kid in _kids(elem):
            if isinstance(kid, int):
                had_content = True
                if pg_new is not None:
                    kids.append(("mc", pg_new, int(kid), None))
            elif isinstance(kid, Dictionary):
                if "/S" in kid:
                    had_content = True
                    child = self.copy(kid, new, pg, keep)
                    if child is not None:
                        kids.append(child)
                    continue
                had_content = True
                kpg = kid.get("/Pg", pg)
                kpg_new = keep.get(kpg.objgen) if kpg is not None else None
                if kpg_new is None:
                    continue
                if kid.get("/Type") == Name.OBJR:
                    if not self.widgets and kid.Obj.get("/Subtype") == Name.Widget:
                        continue
                    annot = self.out.copy_foreign(kid.Obj)  # the copy the page already has
                    if any(a.objgen == annot.objgen for a in kpg_new.get("/Annots", ())):
                        kids.append(("obj", kpg_new, annot))
                else:  # MCR (maybe in a form XObject: /Stm)
                    stm = kid.get("/Stm")
                    kids.append(("mc", kpg_new, int(kid.MCID), stm))
        if not kids and (had_content or pg_new is None):
            return None
        if pg_new is None:  # starts on a page that was left out: use its first kept page
            pg_new = next((k[1] for k in kids if isinstance(k, tuple)), None)
        if pg_new is not None:
            new.Pg = pg_new
        for key in elem.keys():  # noqa: SIM118 (a pikepdf Dictionary)
            if key not in _STRUCT_SKIP:
                new[key] = _import(self.out, elem[key])
        out_kids = Array()
        for k in kids:
            if not isinstance(k, tuple):
                out_kids.append(k)
            elif k[0] == "mc":
                _, page, mcid, stm = k
                if stm is None:
                    self.by_page.setdefault(page.objgen, {})[mcid] = new
                if stm is None and pg_new is not None and page.objgen == pg_new.objgen:
                    out_kids.append(mcid)
                else:
                    mcr = Dictionary(Type=Name.MCR, Pg=page, MCID=mcid)
                    if stm is not None:
                        mcr.Stm = self.out.copy_foreign(stm)
                    out_kids.append(mcr)
            else:
                _, page, annot = k
                self.by_annot[annot.objgen] = new
                out_kids.append(Dictionary(Type=Name.OBJR, Pg=page, Obj=annot))
        if len(out_kids) == 1:
            new.K = out_kids[0]
        elif len(out_kids):
            new.K = out_kids
        return new


def _copy_structure(
    b: _Builder,
    src: pikepdf.Pdf,
    keep: Mapping[tuple[int, int], Any],
    lo: int,
    hi: int,
    parent: Any,
) -> list[Any]:
    """src's top-level elements (Document -> Part) with content on pages lo..hi."""
    idx = _index(src)
    result = []
    for root in idx.roots:
        part = b.out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Part, P=parent))
        if root.get("/S") != Name.Document:  # not LibreOffice's shape: keep the element as is
            child = b.copy(root, parent, None, keep)
            if child is not None:
                result.append(child)
            continue
        kids = Array()
        for top in idx.tops.get(root.objgen, []):
            if top.hi < lo or top.lo > hi:
                continue
            child = b.copy(top.elem, part, root.get("/Pg"), keep)
            if child is not None:
                kids.append(child)
        for key in root.keys():  # noqa: SIM118 (/Lang, /T, /A ... of the Document)
            if key not in _STRUCT_SKIP:
                part[key] = _import(b.out, root[key])
        if len(kids):
            part.K = kids
            result.append(part)
    return result


def _merge_maps(out: pikepdf.Pdf, key: str, *srcs: pikepdf.Pdf) -> Dictionary | None:
    merged = Dictionary()
    for pdf in srcs:
        m = pdf.Root.get("/StructTreeRoot", Dictionary()).get(key)
        if m is None:
            continue
        for k, v in m.items():
            if key == "/RoleMap" and isinstance(v, Name) and str(v) == k:
                continue  # LibreOffice maps standard types to themselves; PDF/UA forbids it
            if k not in merged:
                merged[k] = _import(out, v)
            elif key == "/RoleMap" and merged[k] != v:
                warnings.warn(
                    f"{key} conflict for {k}: {merged[k]} vs {v}; keeping the first", stacklevel=2
                )
    return merged if len(merged) else None


def _finish_tree(
    out: pikepdf.Pdf,
    b: _Builder,
    document: Any,
    role_map: Any,
    class_map: Any,
    pages: list[Any] | None = None,
) -> None:
    """The structure tree root of ``out``: ``document``, and the ParentTree of ``pages``
    (page objects in order; ``out.pages`` when None)."""
    nums = Array()
    key = 0
    pages = pages if pages is not None else [page.obj for page in out.pages]
    for page in pages:
        entry = b.by_page.get(page.objgen)
        if entry is None and "/StructParents" not in page:
            continue
        arr = Array()
        for mcid in range(max(entry) + 1 if entry else 0):
            arr.append(entry.get(mcid, None) if entry else None)
        page.StructParents = key
        nums.append(key)
        nums.append(out.make_indirect(arr))
        key += 1
    for page in pages:
        page.Tabs = Name.S  # annotations in structure order (PDF/UA 7.18.3)
        for annot in page.get("/Annots", ()):
            elem = b.by_annot.get(annot.objgen)
            if elem is None:
                if "/StructParent" in annot:
                    del annot.StructParent  # its element was on a page left out
                continue
            annot.StructParent = key
            nums.append(key)
            nums.append(elem)
            key += 1
    root = Dictionary(
        Type=Name.StructTreeRoot,
        K=document,
        ParentTree=out.make_indirect(Dictionary(Nums=nums)),
        ParentTreeNextKey=key,
    )
    if role_map is not None:
        root.RoleMap = role_map
    if class_map is not None:
        root.ClassMap = class_map
    out.Root.StructTreeRoot = out.make_indirect(root)
    document.P = out.Root.StructTreeRoot


def extract(
    src: pikepdf.Pdf,
    pages: range,
    plan: pikepdf.Pdf | None,
) -> pikepdf.Pdf:
    """A new PDF of src.pages[pages] followed by every page of plan (may be None), tagged:
    the structure elements with content on those pages (elements spanning a left-out page
    keep only their kept content), one /Document of a /Part per source, a rebuilt
    /ParentTree and /ParentTreeNextKey, merged /RoleMap (and /ClassMap), /Lang, /MarkInfo,
    src's OutputIntents and /ViewerPreferences /DisplayDocTitle. The caller sets the
    document information, then :func:`set_pdfa_metadata` makes the XMP from it. Sources must
    not be closed before the result is saved, and their structure trees must not change
    after the first extract (a per-source index is cached). :func:`prepare_source` each
    source once before extracting."""
    if pages.step != 1 or not 0 <= pages.start <= pages.stop <= len(src.pages):
        raise ValueError(f"bad page range {pages} for {len(src.pages)} pages")
    out = pikepdf.new()
    out.pages.extend(src.pages[pages.start : pages.stop])
    sources = [src]
    if plan is not None:
        with warnings.catch_warnings():  # pages with annotations whose targets are elsewhere
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            out.pages.extend(plan.pages)
        sources.append(plan)
    b = _Builder(out)
    document = out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document))
    kids = Array()
    keep = {src.pages[i].obj.objgen: out.pages[n].obj for n, i in enumerate(pages)}
    kids.extend(_copy_structure(b, src, keep, pages.start, pages.stop - 1, document))
    if plan is not None:
        off = len(pages)
        keep = {p.obj.objgen: out.pages[off + i].obj for i, p in enumerate(plan.pages)}
        plan_parts = _copy_structure(b, plan, keep, 0, len(plan.pages) - 1, document)
        lang_src = src.Root.get("/Lang")
        lang_plan = plan.Root.get("/Lang")
        if lang_plan is not None and lang_plan != lang_src:
            for part in plan_parts:
                if "/Lang" not in part:
                    part.Lang = lang_plan
        kids.extend(plan_parts)
    document.K = kids
    _finish_tree(
        out,
        b,
        document,
        _merge_maps(out, "/RoleMap", *sources),
        _merge_maps(out, "/ClassMap", *sources),
    )
    lang = src.Root.get("/Lang") or (plan.Root.get("/Lang") if plan is not None else None)
    out.Root.Lang = lang if lang is not None else String("en-US")
    out.Root.MarkInfo = Dictionary(Marked=True)
    out.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    intents = next((p.Root.OutputIntents for p in sources if "/OutputIntents" in p.Root), None)
    if intents is None:
        raise ValueError("the source has no OutputIntents: was it exported as PDF/A?")
    out.Root.OutputIntents = _import(out, intents)
    return out


class Collection:
    """A tagged PDF made of page ranges of other tagged PDFs, in any order (the review
    packet): :meth:`add` the structure of each range as its pages are copied, then
    :meth:`finish` with the pages in their final order. Form fields are left out.

    Nothing of a source is kept after :meth:`add` (a batch has hundreds of chunk PDFs): its
    role and class maps are merged, each copied page's ParentTree entry made, at once."""

    def __init__(self, out: pikepdf.Pdf) -> None:
        self.out = out
        self._builder = _Builder(out, widgets=False)
        self._document = out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document))
        self._parts: dict[tuple[int, int], list[Any]] = {}  # first new page -> its parts
        self._entries: dict[tuple[int, int], Any] = {}  # page -> its ParentTree array
        self._maps: dict[str, Any] = {"/RoleMap": Dictionary(), "/ClassMap": Dictionary()}
        self._catalog: dict[str, Any] = {}  # /Lang and /OutputIntents of the first source

    def add(self, source: pikepdf.Pdf, span: range, pages: list[Any]) -> None:
        """The structure of pages ``span`` of ``source``, copied to ``pages`` (of out)."""
        if not pages or "/StructTreeRoot" not in source.Root:
            return
        keep = {source.pages[n].obj.objgen: page for n, page in zip(span, pages, strict=True)}
        b = self._builder
        self._parts[pages[0].objgen] = _copy_structure(
            b, source, keep, span.start, span.stop - 1, self._document
        )
        for page in pages:  # complete now: its elements by MCID, as one array
            entry = b.by_page.pop(page.objgen, None)
            if entry:
                array = Array([entry.get(mcid) for mcid in range(max(entry) + 1)])
                self._entries[page.objgen] = self.out.make_indirect(array)
        for key, merged in self._maps.items():
            found = _merge_maps(self.out, key, source)
            for name, value in (found or Dictionary()).items():
                if name not in merged:
                    merged[name] = value
        for key in ("/Lang", "/OutputIntents"):
            if key not in self._catalog and key in source.Root:
                self._catalog[key] = _import(self.out, source.Root[key])

    def finish(self, pages: list[Any], lang: str = "en-US") -> None:
        """The structure tree of ``out`` for ``pages`` in this order (ranges left out of
        them are left out of the tree), and the PDF/A parts of its catalog."""
        kids = Array()
        for page in pages:
            for part in self._parts.get(page.objgen, ()):
                kids.append(part)
        self._document.K = kids
        numbers: list[Any] = []
        for page in pages:
            page.Tabs = Name.S
            if page.objgen in self._entries:
                page.StructParents = len(numbers) // 2
                numbers += [len(numbers) // 2, self._entries[page.objgen]]
            elif "/StructParents" in page:
                del page.StructParents  # (a copied page's own key means nothing here)
        for page in pages:
            for annot in page.get("/Annots", ()):
                elem = self._builder.by_annot.get(annot.objgen)
                if elem is None:
                    if "/StructParent" in annot:
                        del annot.StructParent
                    continue
                annot.StructParent = len(numbers) // 2
                numbers += [len(numbers) // 2, elem]
        root = Dictionary(
            Type=Name.StructTreeRoot,
            K=self._document,
            ParentTree=self.out.make_indirect(Dictionary(Nums=Array(numbers))),
            ParentTreeNextKey=len(numbers) // 2,
        )
        for name, merged in self._maps.items():
            if len(merged):
                root[name] = merged
        self.out.Root.StructTreeRoot = self.out.make_indirect(root)
        self._document.P = self.out.Root.StructTreeRoot
        self.out.Root.Lang = self._catalog.get("/Lang", String(lang))
        self.out.Root.MarkInfo = Dictionary(Marked=True)
        self.out.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        if "/OutputIntents" in self._catalog:
            self.out.Root.OutputIntents = self._catalog["/OutputIntents"]


# --------------------------------------------------------------------------- widgets
def tag_widget(pdf: pikepdf.Pdf, widget: pikepdf.Object, page_index: int, alt: str) -> None:
    """Put an annotation already in pdf.pages[page_index]'s /Annots into the structure tree:
    a /Form element (with /Alt, as PDF/UA asks) holding an OBJR, appended to the first
    top-level element, the annotation's /StructParent, ParentTree and ParentTreeNextKey."""
    root = pdf.Root.StructTreeRoot
    page = pdf.pages[page_index].obj
    document = root.K if isinstance(root.K, Dictionary) else root.K[0]
    elem = pdf.make_indirect(
        Dictionary(
            Type=Name.StructElem,
            S=Name.Form,
            P=document,
            Pg=page,
            Alt=String(alt),
            K=Dictionary(Type=Name.OBJR, Pg=page, Obj=widget),
        )
    )
    if "/K" not in document:
        document.K = Array()
    elif not isinstance(document.K, Array):
        document.K = Array([document.K])
    document.K.append(elem)
    key = int(root.get("/ParentTreeNextKey", 0))
    if key == 0:
        nums = root.ParentTree.Nums
        key = max((int(nums[i]) for i in range(0, len(nums), 2)), default=-1) + 1
    root.ParentTree.Nums.append(key)  # keys stay sorted: key is above every other
    root.ParentTree.Nums.append(elem)
    root.ParentTreeNextKey = key + 1
    widget.StructParent = key
    if "/TU" not in widget and widget.get("/Subtype") == Name.Widget:
        widget.TU = String(alt)  # the field's accessible name
    page.Tabs = Name.S


# --------------------------------------------------------------------------- metadata
def set_pdfa_metadata(
    pdf: pikepdf.Pdf, part: str = PDFA_PART, conformance: str = PDFA_CONFORMANCE
) -> None:
    """XMP from the Info dict (dc:title, dc:creator, dc:description, pdf:Keywords,
    xmp:CreatorTool, pdf:Producer) plus pdfaid:part/conformance. Nothing else is stamped (no
    pikepdf Producer, no MetadataDate), so the bytes stay deterministic. Written directly
    (a packet's few entries); document information with dates goes through pikepdf's
    conversion."""
    if "/Metadata" in pdf.Root:
        del pdf.Root.Metadata  # start clean: LibreOffice's XMP is the chunk's, not the packet's
    info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    xmp = _xmp(info, part, conformance)
    if xmp is not None:
        pdf.Root.Metadata = pdf.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)
        return
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        with warnings.catch_warnings():  # custom Info keys (/GrantgenRecord) have no XMP twin:
            warnings.filterwarnings("ignore", "The metadata field", UserWarning)  # allowed
            meta.load_from_docinfo(pdf.docinfo, delete_missing=True)
        meta["pdfaid:part"] = part
        meta["pdfaid:conformance"] = conformance


#: Document information entries and their XMP properties (the others have no twin).
_XMP = {
    "/Author": ("dc", "creator", "Seq"),
    "/Subject": ("dc", "description", "Alt"),
    "/Title": ("dc", "title", "Alt"),
    "/Keywords": ("pdf", "Keywords", None),
    "/Producer": ("pdf", "Producer", None),
    "/Creator": ("xmp", "CreatorTool", None),
}
_CONVERTED = ("/CreationDate", "/ModDate", "/Trapped")
"""Entries whose XMP twin is written in another form (dates): left to pikepdf."""
_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xmp(info: Mapping[str, str], part: str, conformance: str) -> bytes | None:
    """The XMP packet for ``info``; None when it holds what needs pikepdf's conversion
    (dates, unknown entries, characters XML cannot hold)."""
    from xml.sax.saxutils import escape

    if any(k in _CONVERTED for k in info) or any(_NOT_XML.search(v) for v in info.values()):
        return None  # (an entry of its own, such as /GrantgenRecord, has no XMP twin)
    props = []
    for key in sorted(_XMP, key=lambda k: _XMP[k][:2]):
        if key not in info:
            continue
        prefix, name, kind = _XMP[key]
        value = escape(info[key])
        if kind == "Seq":
            value = f"<rdf:Seq><rdf:li>{value}</rdf:li></rdf:Seq>"
        elif kind == "Alt":
            value = f'<rdf:Alt><rdf:li xml:lang="x-default">{value}</rdf:li></rdf:Alt>'
        props.append(f'<{prefix}:{name} xmlns:{prefix}="{_NS[prefix]}">{value}</{prefix}:{name}>')
    for name, value in (("part", part), ("conformance", conformance)):
        props.append(f'<pdfaid:{name} xmlns:pdfaid="{_NS["pdfaid"]}">{value}</pdfaid:{name}>')
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        ' <rdf:Description rdf:about="">' + "".join(props) + "</rdf:Description></rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    ).encode("utf-8")


# --------------------------------------------------------------------------- fonts
_TAGGED = re.compile(r"^[A-Z]{6}\+")


def _tag(digest: bytes, bump: int = 0) -> str:
    n = int.from_bytes(hashlib.sha256(digest + bytes([bump])).digest()[:8], "big")
    letters = []
    for _ in range(6):
        n, r = divmod(n, 26)
        letters.append(chr(65 + r))
    return "".join(letters)


def _font_program(descriptor: Any) -> Any:
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor[key]
    return None


def retag_fonts(pdf: pikepdf.Pdf) -> dict[str, str]:
    """Every embedded subset font (``ABCDEF+Name``) gets the tag of the SHA-256 of its
    decoded font program and base name, written to the font's /BaseFont, its descriptor's
    /FontName and, for Type0 fonts, the parent's /BaseFont (``TAG+Name-Identity-H``) too.
    Identical programs keep one tag; different programs never share one (collisions are
    bumped). Returns {old name: new name} (old names may repeat across fonts, so the map
    is informative only)."""
    by_descriptor: dict[tuple[int, int], str] = {}
    used: dict[str, bytes] = {}
    renamed: dict[str, str] = {}
    fonts = [o for o in pdf.objects if isinstance(o, Dictionary) and o.get("/Type") == Name.Font]
    simple = [f for f in fonts if f.get("/Subtype") != Name.Type0]
    for font in simple:  # TrueType, Type1, CIDFontType0/2: the ones with a descriptor
        descriptor = font.get("/FontDescriptor")
        base = str(font.get("/BaseFont", ""))[1:]
        if descriptor is None or not _TAGGED.match(base):
            continue
        program = _font_program(descriptor)
        if program is None:
            continue
        og = descriptor.objgen
        if og not in by_descriptor:
            name = base[7:]
            digest = hashlib.sha256(program.read_bytes()).digest() + name.encode()
            bump = 0
            tag = _tag(digest)
            while tag in used and used[tag] != digest:
                bump += 1
                tag = _tag(digest, bump)
            used[tag] = digest
            by_descriptor[og] = f"{tag}+{name}"
        new = by_descriptor[og]
        renamed[base] = new
        font.BaseFont = Name("/" + new)
        descriptor.FontName = Name("/" + new)
    for font in fonts:
        if font.get("/Subtype") != Name.Type0:
            continue
        desc = font.get("/DescendantFonts")
        if not desc:
            continue
        child = str(desc[0].get("/BaseFont", ""))[1:]
        base = str(font.get("/BaseFont", ""))[1:]
        if _TAGGED.match(base) and _TAGGED.match(child):
            suffix = base[7:]
            # "ABCDEF+Name-Identity-H" or "ABCDEF+Name": keep whatever follows the name
            new = child[:7] + suffix
            renamed[base] = new
            font.BaseFont = Name("/" + new)
    return renamed


# --------------------------------------------------------------------------- steady bytes
#: The creation time written into every output intent's ICC profile (its header's dateTime):
#: LibreOffice's colour library stamps the time of the export there, which would make the same
#: document come out different on every run.
ICC_TIME = bytes.fromhex("07d000010001000000000000")  # 2000-01-01 00:00:00


def prepare_source(pdf: pikepdf.Pdf) -> None:
    """Ready a PDF LibreOffice made for copying pages out of, in memory: its font subsets
    renamed from their programs (:func:`retag_fonts`) and its ICC profiles' creation time
    fixed (:data:`ICC_TIME`), so the same document gives the same bytes."""
    retag_fonts(pdf)
    steady_profiles(pdf)


def steady_profiles(pdf: pikepdf.Pdf) -> None:
    """Every output intent's ICC profile with the creation time :data:`ICC_TIME` (and no
    profile ID, which would have been computed over the time)."""
    import zlib

    for intent in pdf.Root.get("/OutputIntents", ()):
        profile = intent.get("/DestOutputProfile")
        if profile is None:
            continue
        data = profile.read_bytes()
        if len(data) < 128 or data[36:40] != b"acsp":
            continue
        steady = data[:24] + ICC_TIME + data[36:84] + bytes(16) + data[100:]
        if steady != data:
            profile.write(zlib.compress(steady, 9), filter=Name.FlateDecode)


# --------------------------------------------------------------------------- saving
def save_packet(
    pdf: pikepdf.Pdf, *, min_version: str = MIN_VERSION, object_streams: bool = True
) -> bytes:
    """Save as grantgen does (deterministic /ID, streams as LibreOffice compressed them),
    with the header version at least the sources' (PDF/A-2 allows 1.0-1.7; tagging needs
    1.4+). Object streams are allowed by PDF/A-2 and shrink tagged packets a lot; qpdf fills
    them in the order the objects were made, so a PDF whose objects were made in an order
    that depends on timing (the review packet, copied in as chunks finish) is saved without
    (``object_streams=False``) to come out the same every time."""
    import io

    buf = io.BytesIO()
    pdf.save(
        buf,
        deterministic_id=True,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        min_version=min_version,
        object_stream_mode=(
            pikepdf.ObjectStreamMode.generate
            if object_streams
            else pikepdf.ObjectStreamMode.disable
        ),
    )
    return buf.getvalue()
