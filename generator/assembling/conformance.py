"""Offline PDF/A-2b checks (plus the tagging parts of 2a/2u) for the mistakes grantgen can make.

Checked: header, encryption and trailer; XMP/Info and the output intent; actions and scripts;
annotation flags and appearances; font embedding, subset tags and stream filters; the structure
tree against the pages. Not veraPDF: colour spaces, transparency, font program internals, ICC
profiles, XMP schema validity and whatever needs rendering go unchecked, so [] proves nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, Object
from pikepdf.models import PdfMetadata

ObjGen = tuple[int, int]
PdfSource = str | Path | bytes | bytearray | pikepdf.Pdf
Claimed = dict[tuple[ObjGen, int], ObjGen]  # (page, MCID) -> structure element

_TAG = re.compile(r"^([A-Z]{6})\+(.+)$")
_FORBIDDEN_ACTIONS = {
    "/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/JavaScript", "/Hide",
    "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView",
}  # fmt: skip
_FORBIDDEN_ANNOTS = {"/Sound", "/Movie", "/Screen", "/3D", "/RichMedia"}
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
_SIMPLE_ENCODINGS = (Name.WinAnsiEncoding, Name.MacRomanEncoding, Name.StandardEncoding)
_INFO_XMP = {  # Info key -> (XMP property, kind)
    "/Title": ("dc:title", "text"), "/Author": ("dc:creator", "seq"),
    "/Subject": ("dc:description", "text"), "/Keywords": ("pdf:Keywords", "text"),
    "/Creator": ("xmp:CreatorTool", "text"), "/Producer": ("pdf:Producer", "text"),
    "/CreationDate": ("xmp:CreateDate", "date"), "/ModDate": ("xmp:ModifyDate", "date"),
}  # fmt: skip
_STANDARD_TYPES = {"/" + t for t in (
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index",
    "NonStruct", "Private", "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl",
    "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot", "Span", "Quote", "Note",
    "Reference", "BibEntry", "Code", "Link", "Annot", "Ruby", "RB", "RT", "RP", "Warichu", "WT",
    "WP", "Figure", "Formula", "Form",
)}  # fmt: skip


def pdfa_problems(pdf: PdfSource, *, structure: bool = True) -> list[str]:
    """Problems keeping ``pdf`` (a path, its bytes or an open Pdf, whose header is then not
    checked) from being PDF/A-2b tagged as grantgen needs it; [] when none was found."""
    if isinstance(pdf, (str, Path)):
        head = Path(pdf).read_bytes()[:1024]
        with pikepdf.open(pdf) as opened:
            return _problems(opened, head, structure)
    if isinstance(pdf, (bytes, bytearray)):
        with pikepdf.open(io.BytesIO(pdf)) as opened:
            return _problems(opened, bytes(pdf[:1024]), structure)
    return _problems(pdf, None, structure)


def _problems(pdf: pikepdf.Pdf, head: bytes | None, structure: bool) -> list[str]:
    meta = None if pdf.Root.get("/Metadata") is None else pdf.open_metadata()
    p = list(_file_problems(pdf, head))
    p += _metadata_problems(pdf, meta)
    p += _action_problems(pdf)
    p += _annotation_problems(pdf)
    p += _font_problems(pdf)
    p += _tagging_problems(pdf, structure)
    conformance: object = None if meta is None else meta.get("pdfaid:conformance")
    if isinstance(conformance, str) and conformance in ("A", "U"):
        p += level_au_problems(pdf, conformance)
    return p


# --- file, metadata and output intent
def _file_problems(pdf: pikepdf.Pdf, head: bytes | None) -> Iterator[str]:
    """Header version and binary comment (when the bytes are known), encryption, trailer /ID."""
    version = pdf.pdf_version
    if head is not None:
        m = re.match(rb"%PDF-(\d\.\d)\r?\n?", head)
        if not m:
            yield "the file does not start with a %PDF-1.n header"
        else:
            version = m.group(1).decode()
            rest = head[m.end() :]
            if not (rest.startswith(b"%") and sum(b > 127 for b in rest[1:5]) == 4):
                yield "no binary comment (4 bytes > 127) after the header"
    if not ("1.4" <= version <= "1.7"):
        yield f"PDF header version {version} is not 1.4-1.7"
    if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
        yield "the file is encrypted"
    if head is not None and "/ID" not in pdf.trailer:
        yield "the trailer has no /ID"


def _metadata_problems(pdf: pikepdf.Pdf, meta: PdfMetadata | None) -> Iterator[str]:
    """The XMP stream, its PDF/A identification and the Info it mirrors; the output intent."""
    meta_stream = pdf.Root.get("/Metadata")
    if meta_stream is None or meta is None:
        yield "no XMP metadata stream in the catalog"
    else:
        if "/Filter" in meta_stream:
            yield "the XMP metadata stream is compressed (/Filter)"
        if meta_stream.get("/Subtype") != Name.XML or meta_stream.get("/Type") != Name.Metadata:
            yield "the XMP metadata stream lacks /Type /Metadata /Subtype /XML"
        part, conf = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
        if part != "2":
            yield f"XMP pdfaid:part is {part!r}, not '2'"
        if conf not in ("A", "B", "U"):
            yield f"XMP pdfaid:conformance is {conf!r}, not A, B or U"
        xml = meta_stream.read_bytes()
        has_ua = b"pdfuaid" in xml and b"http://www.aiim.org/pdfua/ns/id/" in xml
        if has_ua and b"pdfaExtension" not in xml:
            yield "XMP has pdfuaid without a PDF/A extension schema for it (veraPDF 6.6.2.3)"
        if not xml.rstrip(b" \r\n\x00").endswith(b"?>") or b"<?xpacket end=" not in xml:
            yield "the XMP packet has no <?xpacket end?> trailer"
        info = pdf.trailer.get("/Info")
        for key, (prop, kind) in _INFO_XMP.items():
            if info is None or key not in info:
                continue
            got: object = meta.get(prop)
            want = str(info[key])
            if kind == "seq" and isinstance(got, list):
                got = ", ".join(got)
            same = _date(str(got)) == _date(want) if kind == "date" else str(got) == want
            if got is None or not same:
                yield f"Info {key} {want!r} does not match XMP {prop} {got!r}"
    profiles: set[ObjGen] = set()
    for oi in pdf.Root.get("/OutputIntents") or []:
        if oi.get("/S") == Name.GTS_PDFA1:
            dest = oi.get("/DestOutputProfile")
            if isinstance(dest, pikepdf.Stream):
                profiles.add(dest.objgen)
            else:
                yield "a GTS_PDFA1 OutputIntent has no /DestOutputProfile stream"
    if not profiles:
        yield "no GTS_PDFA1 OutputIntent with a DestOutputProfile"
    elif len(profiles) > 1:
        yield "OutputIntents name different DestOutputProfiles"


def _date(value: str) -> datetime | None:
    value = value.strip().rstrip("'")
    try:
        if value.startswith("D:") or (value[:4].isdigit() and "-" not in value[:5]):
            return pikepdf.models.metadata.decode_pdf_date(value).astimezone(UTC)
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(UTC)
    except Exception:
        return None


# --- actions and annotations
def _forbidden_actions(action: Object | None) -> list[Dictionary]:
    """The forbidden actions among ``action`` and the chain of /Next actions after it."""
    todo, actions = [action], list[Dictionary]()
    while todo and len(actions) < 200:
        a = todo.pop()
        if isinstance(a, Array):
            todo.extend(a)
        elif isinstance(a, Dictionary):
            actions.append(a)
            if "/Next" in a:
                todo.append(a.Next)
    return [a for a in actions if str(a.get("/S")) in _FORBIDDEN_ACTIONS]


def _action_problems(pdf: pikepdf.Pdf) -> Iterator[str]:
    """Document-level scripts and actions, forms that need the viewer, embedded files."""
    root = pdf.Root
    if "/AA" in root:
        yield "the catalog has /AA (additional actions)"
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names:
        yield "the name tree has /JavaScript"
    if names is not None and "/EmbeddedFiles" in names:
        yield "the document has embedded files (not PDF/A-2 unless each is PDF/A)"
    form = root.get("/AcroForm")
    if form is not None and form.get("/NeedAppearances", False) is True:
        yield "AcroForm /NeedAppearances is true"
    if form is not None and "/XFA" in form:
        yield "AcroForm has /XFA"
    for a in _forbidden_actions(root.get("/OpenAction")):
        yield f"OpenAction is a forbidden {a.get('/S')} action"


def _annotation_problems(pdf: pikepdf.Pdf) -> Iterator[str]:
    """Page /AA, then each annotation's subtype, flags, actions and appearance."""
    for n, page in enumerate(pdf.pages, 1):
        if "/AA" in page.obj:
            yield f"page {n} has /AA"
        for annot in page.obj.get("/Annots", ()):
            st = str(annot.get("/Subtype"))
            what = f"page {n} {st} annotation {annot.get('/T', '')}".rstrip()
            if st in _FORBIDDEN_ANNOTS:
                yield f"{what}: subtype not allowed"
            f = 4 if st == "/Popup" else int(annot.get("/F", 0))  # Popups need no flags
            if st != "/Popup" and "/F" not in annot:
                yield f"{what}: no /F flags"
            elif not f & 4 or f & (1 | 2 | 32 | 256):
                yield f"{what}: /F {f} must have Print and no Invisible/Hidden/NoView/ToggleNoView"
            if "/AA" in annot and st == "/Widget":
                yield f"{what}: widget has /AA"
            for a in _forbidden_actions(annot.get("/A")):
                yield f"{what}: forbidden {a.get('/S')} action"
            rect = [float(v) for v in annot.get("/Rect", [0, 0, 0, 0])]
            zero = rect[0] == rect[2] and rect[1] == rect[3]
            ap = annot.get("/AP")
            if st not in ("/Popup", "/Link") and not zero and (ap is None or "/N" not in ap):
                yield f"{what}: no appearance stream /AP /N"
            if ap is not None and set(ap.keys()) - {"/N"}:
                yield f"{what}: /AP has keys other than /N"


# --- fonts and filters
def _font_problems(pdf: pikepdf.Pdf) -> Iterator[str]:
    """Forbidden stream filters; fonts embedded under their own name; subset tags unique."""
    by_name: dict[str, set[bytes]] = {}  # subset name -> digests of its font programs
    by_tag: dict[str, set[bytes]] = {}
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            filters = obj.get("/Filter")
            names = list(filters) if isinstance(filters, Array) else [filters]
            if Name.LZWDecode in names or Name("/Crypt") in names:
                yield f"stream {obj.objgen} uses a forbidden filter {names}"
            continue
        if not isinstance(obj, Dictionary) or obj.get("/Type") != Name.Font:
            continue
        sub = obj.get("/Subtype")
        base = str(obj.get("/BaseFont", ""))[1:]
        if sub in (Name.Type3, Name.Type0):
            if sub == Name.Type0 and not obj.get("/DescendantFonts"):
                yield f"Type0 font {base} has no descendant font"
            continue
        desc = obj.get("/FontDescriptor")
        prog = None if desc is None else next((desc[k] for k in _FONT_FILES if k in desc), None)
        if desc is None or prog is None:
            yield f"font {base or obj.objgen} is not embedded"
            continue
        if desc.get("/FontName") is not None and str(desc.FontName)[1:] != base:
            yield f"font {base}: /FontDescriptor /FontName {desc.FontName} differs"
        if m := _TAG.match(base):
            digest = hashlib.sha256(prog.read_bytes()).digest()
            by_name.setdefault(base, set()).add(digest)
            by_tag.setdefault(m.group(1), set()).add(digest)
    for name, digests in sorted(by_name.items()):
        if len(digests) > 1:
            yield f"subset name {name} is shared by {len(digests)} different font programs"
    for tag, digests in sorted(by_tag.items()):
        names_clash = any(len(by_name[n]) > 1 for n in by_name if n.startswith(tag + "+"))
        if len(digests) > 1 and not names_clash:
            yield f"subset tag {tag} is shared by {len(digests)} different font programs"


# --- tagging and structure
def _tagging_problems(pdf: pikepdf.Pdf, structure: bool) -> Iterator[str]:
    mark, lang = pdf.Root.get("/MarkInfo"), pdf.Root.get("/Lang")
    if mark is None or mark.get("/Marked", False) is not True:
        yield "/MarkInfo /Marked is not true"
    if lang is None or not str(lang).strip():
        yield "the catalog has no /Lang"
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None:
        yield "no /StructTreeRoot"
    elif "/ParentTree" not in tree:
        yield "the StructTreeRoot has no /ParentTree"
    elif structure:
        yield from structure_problems(pdf)


def level_au_problems(pdf: pikepdf.Pdf, conformance: str) -> list[str]:
    """The extra checks a claim of PDF/A-2u (Unicode text) or 2a (also standard or role-mapped
    structure types, Figures with /Alt, every page tagged) needs, as far as seen unrendered."""
    p: list[str] = []
    for obj in pdf.objects:
        if not isinstance(obj, Dictionary) or obj.get("/Type") != Name.Font:
            continue
        if obj.get("/Subtype") in (Name.CIDFontType0, Name.CIDFontType2):
            continue  # its Type0 parent carries the /ToUnicode
        if "/ToUnicode" not in obj and obj.get("/Encoding") not in _SIMPLE_ENCODINGS:
            p.append(f"PDF/A-2{conformance.lower()}: font {obj.get('/BaseFont')} has no /ToUnicode")
    tree = pdf.Root.get("/StructTreeRoot")
    if conformance != "A" or tree is None:
        return p
    role = tree.get("/RoleMap", Dictionary())
    todo = _kids(tree)
    bad: set[str] = set()
    while todo:
        e = todo.pop()
        if not isinstance(e, Dictionary) or "/S" not in e:
            continue
        s, hops = e.S, 0
        while s not in _STANDARD_TYPES and s in role and hops < 10:
            s, hops = role[str(s)], hops + 1
        if s not in _STANDARD_TYPES:
            bad.add(str(e.S))
        if s == Name.Figure and "/Alt" not in e and "/ActualText" not in e:
            p.append(f"PDF/A-2a: Figure element {e.objgen} has no /Alt")
        todo.extend(_kids(e))
    for t in sorted(bad):
        p.append(f"PDF/A-2a: structure type {t} is neither standard nor role-mapped to one")
    for n, page in enumerate(pdf.pages, 1):
        if "/StructParents" not in page.obj and page.obj.get("/Contents") is not None:
            ops = (str(i.operator) for i in pikepdf.parse_content_stream(page))
            if any(op in ("Tj", "TJ", "Do", "'", '"') for op in ops):
                p.append(f"PDF/A-2a: page {n} has content but is not tagged (no /StructParents)")
    return p


def _kids(node: Object) -> list[object]:
    """The /K of a structure node as a list: an Array's items, [] if absent, else [the kid]."""
    return list(k) if isinstance(k := node.get("/K"), Array) else [] if k is None else [k]


def structure_problems(pdf: pikepdf.Pdf) -> list[str]:
    """The structure tree agrees with itself and the pages: /P links, /Pg pages, every MCID a
    page shows maps through the ParentTree to the element claiming it, keys are consistent."""
    tree = pdf.Root.StructTreeRoot
    pages = {pg.obj.objgen: n for n, pg in enumerate(pdf.pages)}
    claimed: Claimed = {}
    objr: dict[ObjGen, ObjGen] = {}  # annotation -> the element whose OBJR names it
    p = list(_element_problems(tree, pages, claimed, objr))
    nums = _nums(tree.ParentTree)
    next_key = tree.get("/ParentTreeNextKey")
    if nums and next_key is not None and int(next_key) <= max(nums):
        p.append(f"/ParentTreeNextKey {int(next_key)} is not above the largest key {max(nums)}")
    p += _parent_tree_problems(pdf, nums, claimed, objr)
    if {pg for pg, _ in claimed} - set(pages):
        p.append("structure elements claim content on pages not in this document")
    return p


def _element_problems(
    tree: Object, pages: dict[ObjGen, int], claimed: Claimed, objr: dict[ObjGen, ObjGen]
) -> Iterator[str]:
    """Walk the elements under ``tree`` (parent links, /Pg); fill ``claimed`` and ``objr``."""
    todo = [(kid, tree) for kid in _kids(tree)]
    seen: set[ObjGen] = set()
    while todo:
        elem, parent = todo.pop()
        if not isinstance(elem, Dictionary) or "/S" not in elem:
            yield f"a /K entry of {parent.objgen} is not a structure element"
            continue
        if elem.objgen in seen:
            yield f"element {elem.objgen} is reached twice"
            continue
        seen.add(elem.objgen)
        where = f"element {elem.objgen}"
        if elem.get("/P") is None or elem.P.objgen != parent.objgen:
            yield f"{where} {elem.S}: /P is not its parent"
        pg = elem.get("/Pg")
        if "/Pg" in elem and (not isinstance(pg, Dictionary) or pg.objgen not in pages):
            yield f"{where} {elem.S}: /Pg is not a page of this document"
        for kid in _kids(elem):
            if isinstance(kid, int):
                if pg is None:
                    yield f"{where}: MCID {kid} without /Pg"
                else:
                    claimed[(pg.objgen, kid)] = elem.objgen
            elif isinstance(kid, Dictionary) and "/S" in kid:
                todo.append((kid, elem))
            elif isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR:
                kpg = kid.get("/Pg", pg)
                if kpg is None or kpg.objgen not in pages:
                    yield f"{where}: OBJR /Pg is not a page"
                elif not any(a.objgen == kid.Obj.objgen for a in kpg.get("/Annots", ())):
                    yield f"{where}: OBJR annotation is not on its page"
                objr[kid.Obj.objgen] = elem.objgen
            elif isinstance(kid, Dictionary):  # a marked-content reference (MCR)
                kpg = kid.get("/Pg", pg)
                if kpg is None or kpg.objgen not in pages:
                    yield f"{where}: MCR /Pg is not a page"
                elif "/Stm" not in kid:
                    claimed[(kpg.objgen, int(kid.MCID))] = elem.objgen


def _nums(node: Object, depth: int = 0) -> dict[int, Object]:
    """The entries of the number tree at ``node`` (later entries win, as in a lookup)."""
    acc: dict[int, Object] = {}
    if depth <= 32:
        n = node.Nums if "/Nums" in node else Array()
        for i in range(0, len(n) - 1, 2):
            acc[int(n[i])] = n[i + 1]
        for kid in node.get("/Kids", ()):
            acc.update(_nums(kid, depth + 1))
    return acc


def _page_mcids(page: pikepdf.Page) -> set[int]:
    ids: set[int] = set()
    for instruction in pikepdf.parse_content_stream(page):
        operands = instruction.operands
        if str(instruction.operator) == "BDC" and len(operands) == 2:
            props: Object | None = operands[1]
            if isinstance(props, Name):  # named in /Properties
                resources = page.obj.get("/Resources")
                named = None if resources is None else resources.get("/Properties")
                props = None if named is None else named.get(props)
            if isinstance(props, Dictionary) and "/MCID" in props:
                ids.add(int(props.MCID))
    return ids


def _parent_tree_problems(
    pdf: pikepdf.Pdf, nums: dict[int, Object], claimed: Claimed, objr: dict[ObjGen, ObjGen]
) -> Iterator[str]:
    """Page /StructParents and annotation /StructParent keys are unique and map to the right
    elements: those claiming each MCID the page shows, the one whose OBJR names the annot."""
    used: set[int] = set()
    for n, page in enumerate(pdf.pages, 1):
        key_obj = page.obj.get("/StructParents")
        mcids = _page_mcids(page)
        if key_obj is None and mcids:
            yield f"page {n} has marked content but no /StructParents"
        elif key_obj is not None:
            key = int(key_obj)
            if key in used:
                yield f"page {n}: /StructParents {key} is used twice"
            used.add(key)
            arr = nums.get(key)
            if arr is None:
                yield f"page {n}: /StructParents {key} is not in the ParentTree"
                arr = Array()
            orphans, wrong = [], []
            for mcid in sorted(mcids):
                elem = arr[mcid] if mcid < len(arr) else None
                want = claimed.get((page.obj.objgen, mcid))
                if want is None:
                    orphans.append(mcid)
                elif not isinstance(elem, Dictionary) or elem.objgen != want:
                    wrong.append(mcid)
            if orphans:
                yield f"page {n}: {len(orphans)} MCID(s) in no structure element, e.g. {orphans[0]}"
            if wrong:
                yield (
                    f"page {n}: {len(wrong)} ParentTree entries are not the MCID's element, "
                    f"e.g. {wrong[0]}"
                )
        for annot in page.obj.get("/Annots", ()):
            if (key_obj := annot.get("/StructParent")) is None:
                continue
            key = int(key_obj)
            if key in used:
                yield f"page {n}: annotation /StructParent {key} is used twice"
            used.add(key)
            elem = nums.get(key)
            if not isinstance(elem, Dictionary) or objr.get(annot.objgen) != elem.objgen:
                yield f"page {n}: annotation /StructParent {key} is not its OBJR element"
