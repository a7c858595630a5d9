"""The structure tree of tagged PDFs taken apart and put together: the pages of one PDF (and the
Plan's) with the structure elements that have content on them (:func:`extract`), a PDF made
of page ranges of many (:class:`Collection`: the review packet), a widget put in the tree."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, String

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
        kids, had_content = self._kept_kids(elem, new, pg, pg_new, keep)
        if not kids and (had_content or pg_new is None):
            return None
        if pg_new is None:  # starts on a page that was left out: use its first kept page
            pg_new = next((k[1] for k in kids if isinstance(k, tuple)), None)
        if pg_new is not None:
            new.Pg = pg_new
        for key in elem.keys():  # noqa: SIM118 (a pikepdf Dictionary)
            if key not in _STRUCT_SKIP:
                new[key] = _import(self.out, elem[key])
        out_kids = self._k_entries(new, kids, pg_new)
        if len(out_kids) == 1:
            new.K = out_kids[0]
        elif len(out_kids):
            new.K = out_kids
        return new

    def _kept_kids(
        self, elem: Any, new: Any, pg: Any, pg_new: Any, keep: Mapping[tuple[int, int], Any]
    ) -> tuple[list[Any], bool]:
        """The kids of ``elem`` (``new``'s foreign original) with content on kept pages --
        ``("mc", page, mcid, stm)``, ``("obj", page, annot)`` or an element copied under
        ``new`` -- and whether ``elem`` has content at all."""
        kids: list[Any] = []
        had_content = False
        for kid in _kids(elem):
            if isinstance(kid, int):
                had_content = True
                if pg_new is not None:
                    kids.append(("mc", pg_new, int(kid), None))
            elif isinstance(kid, Dictionary):
                had_content = True
                if "/S" in kid:
                    child = self.copy(kid, new, pg, keep)
                    if child is not None:
                        kids.append(child)
                    continue
                content = self._kept_content(kid, pg, keep)
                if content is not None:
                    kids.append(content)
        return kids, had_content

    def _kept_content(self, kid: Any, pg: Any, keep: Mapping[tuple[int, int], Any]) -> Any:
        """A marked-content or object reference on a kept page, as ``("mc", page, mcid,
        stm)`` or ``("obj", page, annot)``; None for one on a page left out, or a form field
        left out of the copy."""
        kpg = kid.get("/Pg", pg)
        kpg_new = keep.get(kpg.objgen) if kpg is not None else None
        if kpg_new is None:
            return None
        if kid.get("/Type") == Name.OBJR:
            if not self.widgets and kid.Obj.get("/Subtype") == Name.Widget:
                return None
            annot = self.out.copy_foreign(kid.Obj)  # the copy the page already has
            if any(a.objgen == annot.objgen for a in kpg_new.get("/Annots", ())):
                return ("obj", kpg_new, annot)
            return None
        stm = kid.get("/Stm")  # MCR (maybe in a form XObject: /Stm)
        return ("mc", kpg_new, int(kid.MCID), stm)

    def _k_entries(self, new: Any, kids: list[Any], pg_new: Any) -> Array:
        """``new``'s /K entries for ``kids`` (an MCID alone for content on its own page),
        each content reference recorded for the ParentTree."""
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
        return out_kids


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
