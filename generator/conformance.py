"""An offline sanity checker for PDF/A-2b, plus the tagging parts of 2a/2u that grantgen needs.

``pdfa_problems(pdf, *, structure=True)`` returns one line per problem found (``[]`` = none) in:

- the file: %PDF-1.4..1.7 header with a binary comment, no encryption, a trailer /ID;
- metadata: an uncompressed XMP packet claiming pdfaid part 2 (A, B or U) that mirrors the
  Info dictionary, and one GTS_PDFA1 OutputIntent with an embedded ICC profile;
- actions: no JavaScript, forbidden actions, /AA, XFA, NeedAppearances or embedded files;
- annotations: allowed subtypes, Print flag set and hiding flags clear, appearance streams;
- fonts: every font embedded, no LZW/Crypt filters, subset tags not shared by different programs;
- structure: /MarkInfo, /Lang and a StructTreeRoot whose elements, MCIDs, OBJRs and ParentTree
  agree with the pages (``structure_problems``); for a 2a/2u claim also Unicode mappings, role
  maps, Figure /Alt and untagged pages (``level_au_problems``).

It is not veraPDF: it does not check colour spaces against the output intent, transparency,
font program internals (widths, glyph coverage), ICC profile contents, XMP schema validity
beyond the few properties above, or anything that needs rendering. It looks for the mistakes
grantgen's own pipeline can make, and a clean result is no substitute for a real validator.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pikepdf
from pikepdf import Array, Dictionary, Name, Object
from pikepdf.models import PdfMetadata

ObjGen = tuple[int, int]

_HEADER = re.compile(rb"%PDF-(\d\.\d)\r?\n?")
_TAG = re.compile(r"^([A-Z]{6})\+(.+)$")
_FORBIDDEN_ACTIONS = {
    "/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/JavaScript", "/Hide",
    "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView",
}  # fmt: skip
_FORBIDDEN_ANNOTS = {"/Sound", "/Movie", "/Screen", "/3D", "/RichMedia"}
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
_SIMPLE_ENCODINGS = (Name.WinAnsiEncoding, Name.MacRomanEncoding, Name.StandardEncoding)
_PAINTING_OPERATORS = ("Tj", "TJ", "Do", "'", '"')
# Info key -> (XMP property, kind)
_INFO_XMP = {
    "/Title": ("dc:title", "text"),
    "/Author": ("dc:creator", "seq"),
    "/Subject": ("dc:description", "text"),
    "/Keywords": ("pdf:Keywords", "text"),
    "/Creator": ("xmp:CreatorTool", "text"),
    "/Producer": ("pdf:Producer", "text"),
    "/CreationDate": ("xmp:CreateDate", "date"),
    "/ModDate": ("xmp:ModifyDate", "date"),
}
_STANDARD_TYPES = {
    "/" + t
    for t in (
        "Document Part Art Sect Div BlockQuote Caption TOC TOCI Index NonStruct Private P H "
        "H1 H2 H3 H4 H5 H6 L LI Lbl LBody Table TR TH TD THead TBody TFoot Span Quote Note "
        "Reference BibEntry Code Link Annot Ruby RB RT RP Warichu WT WP Figure Formula Form"
    ).split()
}


def pdfa_problems(
    pdf: str | Path | bytes | bytearray | pikepdf.Pdf, *, structure: bool = True
) -> list[str]:
    """Problems that keep ``pdf`` (a path, the file's bytes or an open pikepdf.Pdf) from being
    PDF/A-2b tagged as grantgen needs it; an empty list when none was found. The header checks
    need the file's bytes, so they are skipped for an already open Pdf."""
    if isinstance(pdf, (str, Path)):
        with Path(pdf).open("rb") as fh:
            head = fh.read(1024)
        with pikepdf.open(pdf) as opened:
            return _problems(opened, head, structure)
    if isinstance(pdf, (bytes, bytearray)):
        with pikepdf.open(io.BytesIO(pdf)) as opened:
            return _problems(opened, bytes(pdf[:1024]), structure)
    return _problems(pdf, None, structure)


def _problems(pdf: pikepdf.Pdf, head: bytes | None, structure: bool) -> list[str]:
    p = _file_problems(pdf, head)
    meta: PdfMetadata | None = None
    meta_stream = pdf.Root.get("/Metadata")
    if meta_stream is None:
        p.append("no XMP metadata stream in the catalog")
    else:
        meta = pdf.open_metadata()
        p += _xmp_problems(meta_stream, meta)
        p += _info_problems(pdf, meta)
    p += _output_intent_problems(pdf)
    p += _action_problems(pdf)
    p += _page_problems(pdf)
    p += _font_problems(pdf)
    p += _tagging_problems(pdf, structure)
    conformance: object = None if meta is None else meta.get("pdfaid:conformance")
    if isinstance(conformance, str) and conformance in ("A", "U"):
        p += level_au_problems(pdf, conformance)
    return p


# --- file level, metadata and output intent


def _file_problems(pdf: pikepdf.Pdf, head: bytes | None) -> list[str]:
    """Header version and binary comment (when the bytes are known), encryption, trailer /ID."""
    p: list[str] = []
    version = pdf.pdf_version
    if head is not None:
        m = _HEADER.match(head)
        if not m:
            p.append("the file does not start with a %PDF-1.n header")
        else:
            version = m.group(1).decode()
            rest = head[m.end() :]
            if not (rest.startswith(b"%") and sum(b > 127 for b in rest[1:5]) == 4):
                p.append("no binary comment (4 bytes > 127) after the header")
    if not ("1.4" <= version <= "1.7"):
        p.append(f"PDF header version {version} is not 1.4-1.7")
    if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
        p.append("the file is encrypted")
    if head is not None and "/ID" not in pdf.trailer:
        p.append("the trailer has no /ID")
    return p


def _xmp_problems(meta_stream: Object, meta: PdfMetadata) -> list[str]:
    p: list[str] = []
    if "/Filter" in meta_stream:
        p.append("the XMP metadata stream is compressed (/Filter)")
    if meta_stream.get("/Subtype") != Name.XML or meta_stream.get("/Type") != Name.Metadata:
        p.append("the XMP metadata stream lacks /Type /Metadata /Subtype /XML")
    part, conf = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    if part != "2":
        p.append(f"XMP pdfaid:part is {part!r}, not '2'")
    if conf not in ("A", "B", "U"):
        p.append(f"XMP pdfaid:conformance is {conf!r}, not A, B or U")
    xml = meta_stream.read_bytes()
    if (
        b"pdfuaid" in xml
        and b"http://www.aiim.org/pdfua/ns/id/" in xml
        and b"pdfaExtension" not in xml
    ):
        p.append("XMP has pdfuaid without a PDF/A extension schema for it (veraPDF 6.6.2.3)")
    if not xml.rstrip(b" \r\n\x00").endswith(b"?>") or b"<?xpacket end=" not in xml:
        p.append("the XMP packet has no <?xpacket end?> trailer")
    return p


def _date(value: str) -> datetime | None:
    value = value.strip().rstrip("'")
    try:
        if value.startswith("D:") or (value[:4].isdigit() and "-" not in value[:5]):
            return pikepdf.models.metadata.decode_pdf_date(value).astimezone(UTC)
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(UTC)
    except Exception:
        return None


def _info_problems(pdf: pikepdf.Pdf, meta: PdfMetadata) -> list[str]:
    """Each Info entry must be mirrored by its XMP property (dates compared as instants)."""
    info = pdf.trailer.get("/Info")
    if info is None:
        return []
    p: list[str] = []
    for key, (prop, kind) in _INFO_XMP.items():
        if key not in info:
            continue
        got: object = meta.get(prop)
        want = str(info[key])
        if kind == "seq" and isinstance(got, list):
            got = ", ".join(got)
        if kind == "date":
            same = got is not None and _date(str(got)) == _date(want)
        else:
            same = got is not None and str(got) == want
        if not same:
            p.append(f"Info {key} {want!r} does not match XMP {prop} {got!r}")
    return p


def _output_intent_problems(pdf: pikepdf.Pdf) -> list[str]:
    p: list[str] = []
    profiles: set[ObjGen] = set()
    for oi in pdf.Root.get("/OutputIntents") or []:
        if oi.get("/S") == Name.GTS_PDFA1:
            dest = oi.get("/DestOutputProfile")
            if isinstance(dest, pikepdf.Stream):
                profiles.add(dest.objgen)
            else:
                p.append("a GTS_PDFA1 OutputIntent has no /DestOutputProfile stream")
    if not profiles:
        p.append("no GTS_PDFA1 OutputIntent with a DestOutputProfile")
    elif len(profiles) > 1:
        p.append("OutputIntents name different DestOutputProfiles")
    return p


# --- actions and annotations


def _is_true(value: object) -> bool:
    """A PDF boolean that is true (pikepdf hands booleans over as Python bools)."""
    return value is True


def _forbidden_actions(action: Object | None) -> list[Dictionary]:
    """The forbidden actions among ``action`` and the chain of /Next actions after it."""
    todo, actions = [action], []
    while todo and len(actions) < 200:
        a = todo.pop()
        if isinstance(a, Array):
            todo.extend(a)
        elif isinstance(a, Dictionary):
            actions.append(a)
            if "/Next" in a:
                todo.append(a.Next)
    return [a for a in actions if str(a.get("/S")) in _FORBIDDEN_ACTIONS]


def _action_problems(pdf: pikepdf.Pdf) -> list[str]:
    """Document-level scripts and actions, forms that need the viewer, embedded files."""
    root = pdf.Root
    p: list[str] = []
    if "/AA" in root:
        p.append("the catalog has /AA (additional actions)")
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names:
        p.append("the name tree has /JavaScript")
    if names is not None and "/EmbeddedFiles" in names:
        p.append("the document has embedded files (not PDF/A-2 unless each is PDF/A)")
    form = root.get("/AcroForm")
    if form is not None:
        if _is_true(form.get("/NeedAppearances")):
            p.append("AcroForm /NeedAppearances is true")
        if "/XFA" in form:
            p.append("AcroForm has /XFA")
    for a in _forbidden_actions(root.get("/OpenAction")):
        p.append(f"OpenAction is a forbidden {a.get('/S')} action")
    return p


def _page_problems(pdf: pikepdf.Pdf) -> list[str]:
    p: list[str] = []
    for n, page in enumerate(pdf.pages, 1):
        if "/AA" in page.obj:
            p.append(f"page {n} has /AA")
        for annot in page.obj.get("/Annots", ()):
            p += _annotation_problems(n, annot)
    return p


def _annotation_problems(n: int, annot: Object) -> list[str]:
    """Subtype, flags, actions and appearance of one annotation on page ``n``."""
    p: list[str] = []
    st = str(annot.get("/Subtype"))
    what = f"page {n} {st} annotation {annot.get('/T', '')}".rstrip()
    if st in _FORBIDDEN_ANNOTS:
        p.append(f"{what}: subtype not allowed")
    if st != "/Popup":
        f = int(annot.get("/F", 0))
        if "/F" not in annot:
            p.append(f"{what}: no /F flags")
        elif not f & 4 or f & (1 | 2 | 32 | 256):
            p.append(
                f"{what}: /F {f} must have Print and no Invisible/Hidden/NoView/ToggleNoView"
            )
    if "/AA" in annot and st == "/Widget":
        p.append(f"{what}: widget has /AA")
    for a in _forbidden_actions(annot.get("/A")):
        p.append(f"{what}: forbidden {a.get('/S')} action")
    rect = [float(v) for v in annot.get("/Rect", [0, 0, 0, 0])]
    zero = rect[0] == rect[2] and rect[1] == rect[3]
    ap = annot.get("/AP")
    if st not in ("/Popup", "/Link") and not zero and (ap is None or "/N" not in ap):
        p.append(f"{what}: no appearance stream /AP /N")
    if ap is not None and set(ap.keys()) - {"/N"}:
        p.append(f"{what}: /AP has keys other than /N")
    return p


# --- fonts and filters


def _font_problems(pdf: pikepdf.Pdf) -> list[str]:
    p: list[str] = []
    by_name: dict[str, set[bytes]] = {}  # subset name -> digests of its font programs
    by_tag: dict[str, set[bytes]] = {}  # subset tag -> digests
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            filters = obj.get("/Filter")
            names = list(filters) if isinstance(filters, Array) else [filters]
            if Name.LZWDecode in names or Name("/Crypt") in names:
                p.append(f"stream {obj.objgen} uses a forbidden filter {names}")
        elif isinstance(obj, Dictionary) and obj.get("/Type") == Name.Font:
            p += _font_dict_problems(obj, by_name, by_tag)
    for name, digests in sorted(by_name.items()):
        if len(digests) > 1:
            p.append(f"subset name {name} is shared by {len(digests)} different font programs")
    for tag, digests in sorted(by_tag.items()):
        names_clash = any(len(by_name[n]) > 1 for n in by_name if n.startswith(tag + "+"))
        if len(digests) > 1 and not names_clash:
            p.append(f"subset tag {tag} is shared by {len(digests)} different font programs")
    return p


def _font_dict_problems(
    font: Dictionary, by_name: dict[str, set[bytes]], by_tag: dict[str, set[bytes]]
) -> list[str]:
    """One font dictionary: embedded, consistent name; records subset program digests."""
    sub = font.get("/Subtype")
    base = str(font.get("/BaseFont", ""))[1:]
    if sub in (Name.Type3, Name.Type0):
        if sub == Name.Type0 and not font.get("/DescendantFonts"):
            return [f"Type0 font {base} has no descendant font"]
        return []
    desc = font.get("/FontDescriptor")
    prog = None if desc is None else next((desc[k] for k in _FONT_FILES if k in desc), None)
    if desc is None or prog is None:
        return [f"font {base or font.objgen} is not embedded"]
    p: list[str] = []
    if desc.get("/FontName") is not None and str(desc.FontName)[1:] != base:
        p.append(f"font {base}: /FontDescriptor /FontName {desc.FontName} differs")
    m = _TAG.match(base)
    if m:
        digest = hashlib.sha256(prog.read_bytes()).digest()
        by_name.setdefault(base, set()).add(digest)
        by_tag.setdefault(m.group(1), set()).add(digest)
    return p


# --- tagging and structure


def _tagging_problems(pdf: pikepdf.Pdf, structure: bool) -> list[str]:
    root = pdf.Root
    p: list[str] = []
    mark = root.get("/MarkInfo")
    if mark is None or not _is_true(mark.get("/Marked")):
        p.append("/MarkInfo /Marked is not true")
    lang = root.get("/Lang")
    if lang is None or not str(lang).strip():
        p.append("the catalog has no /Lang")
    tree = root.get("/StructTreeRoot")
    if tree is None:
        p.append("no /StructTreeRoot")
    elif "/ParentTree" not in tree:
        p.append("the StructTreeRoot has no /ParentTree")
    elif structure:
        p.extend(structure_problems(pdf))
    return p


def level_au_problems(pdf: pikepdf.Pdf, conformance: str) -> list[str]:
    """The extra checks a claim of PDF/A-2u (Unicode for all text) or 2a (also: logical
    structure with standard or role-mapped types, Figures with /Alt, every page tagged)
    needs, as far as they can be seen without rendering."""
    p: list[str] = []
    for obj in pdf.objects:
        if not isinstance(obj, Dictionary) or obj.get("/Type") != Name.Font:
            continue
        if obj.get("/Subtype") in (Name.CIDFontType0, Name.CIDFontType2):
            continue  # its Type0 parent carries the /ToUnicode
        if "/ToUnicode" not in obj and obj.get("/Encoding") not in _SIMPLE_ENCODINGS:
            level = f"PDF/A-2{conformance.lower()}"
            p.append(f"{level}: font {obj.get('/BaseFont')} has no /ToUnicode")
    if conformance != "A":
        return p
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None:
        return p
    p += _role_problems(tree)
    for n, page in enumerate(pdf.pages, 1):
        if "/StructParents" not in page.obj and page.obj.get("/Contents") is not None:
            ops = (str(i.operator) for i in pikepdf.parse_content_stream(page))
            if any(op in _PAINTING_OPERATORS for op in ops):
                p.append(f"PDF/A-2a: page {n} has content but is not tagged (no /StructParents)")
    return p


def _role_problems(tree: Object) -> list[str]:
    """PDF/A-2a: every structure type is standard or role-mapped to one; Figures have /Alt."""
    p: list[str] = []
    role = tree.get("/RoleMap", Dictionary())
    k = tree.get("/K")
    todo: list[Object | None] = list(k) if isinstance(k, Array) else [k]
    bad: set[str] = set()
    while todo:
        e = todo.pop()
        if not isinstance(e, Dictionary) or "/S" not in e:
            continue
        s, hops = e.S, 0
        while s not in _STANDARD_TYPES and s in role and hops < 10:
            s, hops = role[cast(Name, s)], hops + 1  # a structure type is a Name
        if s not in _STANDARD_TYPES:
            bad.add(str(e.S))
        if s == Name.Figure and "/Alt" not in e and "/ActualText" not in e:
            p.append(f"PDF/A-2a: Figure element {e.objgen} has no /Alt")
        k = e.get("/K")
        todo.extend(k if isinstance(k, Array) else [k])
    for t in sorted(bad):
        p.append(f"PDF/A-2a: structure type {t} is neither standard nor role-mapped to one")
    return p


@dataclass
class _Claims:
    """What the structure tree says: (page, MCID) -> element and annotation -> element."""

    mcids: dict[tuple[ObjGen, int], ObjGen] = field(default_factory=dict)
    objr: dict[ObjGen, ObjGen] = field(default_factory=dict)


def structure_problems(pdf: pikepdf.Pdf) -> list[str]:
    """The structure tree agrees with itself and the pages: every element's /P leads to the
    root, every /Pg is a page of this document, every MCID a page shows maps through the
    ParentTree to the element that claims it, every /StructParent(s) key exists, keys are
    below /ParentTreeNextKey."""
    tree = pdf.Root.StructTreeRoot
    pages = {pg.obj.objgen: n for n, pg in enumerate(pdf.pages)}
    claims = _Claims()
    p = _element_problems(tree, pages, claims)
    nums: dict[int, Object] = {}
    _nums(tree.ParentTree, nums)
    next_key = tree.get("/ParentTreeNextKey")
    if nums and next_key is not None and int(next_key) <= max(nums):
        p.append(f"/ParentTreeNextKey {int(next_key)} is not above the largest key {max(nums)}")
    used: set[int] = set()
    for n, page in enumerate(pdf.pages, 1):
        p += _page_key_problems(n, page, nums, claims, used)
        p += _annotation_key_problems(n, page, nums, claims, used)
    if {pg for pg, _ in claims.mcids} - set(pages):
        p.append("structure elements claim content on pages not in this document")
    return p


def _element_problems(tree: Object, pages: dict[ObjGen, int], claims: _Claims) -> list[str]:
    """Walk the elements under ``tree``: parent links, /Pg, and what each claims."""
    p: list[str] = []
    k = tree.get("/K")
    todo = [(kid, tree) for kid in (list(k) if isinstance(k, Array) else [k]) if kid is not None]
    seen: set[ObjGen] = set()
    while todo:
        elem, parent = todo.pop()
        if not isinstance(elem, Dictionary) or "/S" not in elem:
            p.append(f"a /K entry of {parent.objgen} is not a structure element")
            continue
        if elem.objgen in seen:
            p.append(f"element {elem.objgen} is reached twice")
            continue
        seen.add(elem.objgen)
        if elem.get("/P") is None or elem.P.objgen != parent.objgen:
            p.append(f"element {elem.objgen} {elem.S}: /P is not its parent")
        pg = elem.get("/Pg")
        if "/Pg" in elem and (not isinstance(pg, Dictionary) or pg.objgen not in pages):
            p.append(f"element {elem.objgen} {elem.S}: /Pg is not a page of this document")
        kids: object = elem.get("/K")
        for kid in list(kids) if isinstance(kids, Array) else [] if kids is None else [kids]:
            if isinstance(kid, Dictionary) and "/S" in kid:
                todo.append((kid, elem))
            else:
                p += _content_kid_problems(elem, kid, pg, pages, claims)
    return p


def _content_kid_problems(
    elem: Dictionary, kid: object, pg: Object | None, pages: dict[ObjGen, int], claims: _Claims
) -> list[str]:
    """A kid that is content, not an element: an MCID, an OBJR or an MCR; records its claim."""
    if isinstance(kid, int):
        if pg is None:
            return [f"element {elem.objgen}: MCID {kid} without /Pg"]
        claims.mcids[(pg.objgen, kid)] = elem.objgen
        return []
    if not isinstance(kid, Dictionary):
        return []
    kpg = kid.get("/Pg", pg)
    if kid.get("/Type") == Name.OBJR:
        p: list[str] = []
        if kpg is None or kpg.objgen not in pages:
            p.append(f"element {elem.objgen}: OBJR /Pg is not a page")
        elif not any(a.objgen == kid.Obj.objgen for a in kpg.get("/Annots", ())):
            p.append(f"element {elem.objgen}: OBJR annotation is not on its page")
        claims.objr[kid.Obj.objgen] = elem.objgen
        return p
    if kpg is None or kpg.objgen not in pages:
        return [f"element {elem.objgen}: MCR /Pg is not a page"]
    if "/Stm" not in kid:
        claims.mcids[(kpg.objgen, int(kid.MCID))] = elem.objgen
    return []


def _nums(node: Object, acc: dict[int, Object], depth: int = 0) -> None:
    """Collect the entries of the number tree at ``node`` into ``acc``."""
    if depth > 32:
        return
    if "/Nums" in node:
        n = node.Nums
        for i in range(0, len(n) - 1, 2):
            acc[int(n[i])] = n[i + 1]
    for kid in node.get("/Kids", ()):
        _nums(kid, acc, depth + 1)


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


def _page_key_problems(
    n: int, page: pikepdf.Page, nums: dict[int, Object], claims: _Claims, used: set[int]
) -> list[str]:
    """The page's /StructParents entry maps each MCID it shows to the element claiming it."""
    key_obj = page.obj.get("/StructParents")
    mcids = _page_mcids(page)
    if key_obj is None:
        return [f"page {n} has marked content but no /StructParents"] if mcids else []
    p: list[str] = []
    key = int(key_obj)
    if key in used:
        p.append(f"page {n}: /StructParents {key} is used twice")
    used.add(key)
    arr = nums.get(key)
    if arr is None:
        p.append(f"page {n}: /StructParents {key} is not in the ParentTree")
        arr = Array()
    orphans, wrong = [], []
    for mcid in sorted(mcids):
        elem = arr[mcid] if mcid < len(arr) else None
        want = claims.mcids.get((page.obj.objgen, mcid))
        if want is None:
            orphans.append(mcid)
        elif not isinstance(elem, Dictionary) or elem.objgen != want:
            wrong.append(mcid)
    if orphans:
        p.append(f"page {n}: {len(orphans)} MCID(s) in no structure element, e.g. {orphans[0]}")
    if wrong:
        p.append(
            f"page {n}: {len(wrong)} ParentTree entries are not the MCID's element, "
            f"e.g. {wrong[0]}"
        )
    return p


def _annotation_key_problems(
    n: int, page: pikepdf.Page, nums: dict[int, Object], claims: _Claims, used: set[int]
) -> list[str]:
    """Each annotation's /StructParent maps to the element whose OBJR names it."""
    p: list[str] = []
    for annot in page.obj.get("/Annots", ()):
        key_obj = annot.get("/StructParent")
        if key_obj is None:
            continue
        key = int(key_obj)
        if key in used:
            p.append(f"page {n}: annotation /StructParent {key} is used twice")
        used.add(key)
        elem = nums.get(key)
        if not isinstance(elem, Dictionary) or claims.objr.get(annot.objgen) != elem.objgen:
            p.append(f"page {n}: annotation /StructParent {key} is not its OBJR element")
    return p
