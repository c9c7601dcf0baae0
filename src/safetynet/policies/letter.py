"""The notification letter (社会救助政策告知书) as A4 PDF, with its fonts embedded.

A letter must show a name with a rare character (生僻字: 𠮷, 㐂, 𰻞 …) whatever fonts the reader has, so
the TrueType fonts of SAFETYNET_LETTER_FONTS are embedded (subset to the characters used): each character
is set in the first font that has it. The text stays text (searchable, and checkable in tests). Without
any of those fonts the letter falls back to STSong-Light, one of the Adobe Asian fonts every PDF reader
carries, which is not embedded and lacks most rare characters.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FALLBACK_FONT = "STSong-Light"
NUMERALS = "一二三四五六七八九十"
CLOSING = (
    "以上政策均由您自愿申请。您有权申请，也有权不申请；不申请不影响您今后在情况变化时随时提出申请。"
    "如需申请，工作人员可以协助您准备材料、代为填写和提交。本告知书所列“可能适用的原因”依据现有登记信息初步判断，"
    "是否符合条件以申请后的审核确认为准。您的个人信息仅用于社会救助工作，我们依法予以保密。"
)


@dataclass(frozen=True)
class Item:
    title: str
    department: str
    reasons: list[str]
    summary: str = ""
    how_to_apply: str = ""
    contacts: str = ""


@dataclass(frozen=True)
class Letter:
    case_id: int
    head_name: str
    id_number: str  # already masked as the actor may see it
    place: str
    address: str
    county_name: str
    staff_name: str
    date: dt.date
    items: list[Item] = field(default_factory=list)


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode map, but with characters beyond the Basic Multilingual Plane written as
    UTF-16 surrogate pairs, as the PDF standard requires: reportlab writes the bare code point
    (`<20BB7>`), which readers cannot parse, so 𠮷 would be lost when the text is copied or searched."""
    text = _ORIGINAL_CMAP(fontname, subset)
    for code in subset:
        if code > 0xFFFF:
            text = text.replace(f"<{code:04X}>", f"<{chr(code).encode('utf-16-be').hex().upper()}>")
    return text


_ORIGINAL_CMAP = ttfonts.makeToUnicodeCMap
ttfonts.makeToUnicodeCMap = _to_unicode_cmap


@dataclass(frozen=True)
class Fonts:
    """The letter's fonts: the names registered with reportlab and, for each, the characters it has."""

    names: tuple[str, ...]
    coverage: tuple[frozenset[int], ...]

    @property
    def base(self) -> str:
        return self.names[0]

    def runs(self, text: str) -> str:
        """Escaped text with each character no earlier font has wrapped in the first font that has it;
        a character none has stays in the base font (it shows as a blank box, and still copies out)."""
        if len(self.names) < 2:
            return escape(text)
        out: list[str] = []
        current, run = 0, ""
        for ch in text:
            code = ord(ch)
            index = next((i for i, cover in enumerate(self.coverage) if code in cover), 0)
            if index != current and run:
                out.append(_wrapped(self.names[current], run, current))
                run = ""
            current = index
            run += ch
        if run:
            out.append(_wrapped(self.names[current], run, current))
        return "".join(out)


def _wrapped(name: str, run: str, index: int) -> str:
    return escape(run) if index == 0 else f'<font name="{name}">{escape(run)}</font>'


_FONTS: dict[tuple[str, ...], Fonts] = {}


def fonts() -> Fonts:
    """The configured TrueType fonts that exist, registered once; else the built-in CID font."""
    paths = tuple(p for p in settings.SAFETYNET_LETTER_FONTS if os.path.isfile(p))
    if paths not in _FONTS:
        if not paths:
            if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
            _FONTS[paths] = Fonts((FALLBACK_FONT,), (frozenset(),))
        else:
            names, coverage = [], []
            for path in paths:
                name = "Letter-" + os.path.splitext(os.path.basename(path))[0]
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(ttfonts.TTFont(name, path))
                names.append(name)
                coverage.append(frozenset(pdfmetrics.getFont(name).face.charToGlyph))
            _FONTS[paths] = Fonts(tuple(names), tuple(coverage))
    return _FONTS[paths]


def _text(value: str) -> str:
    """Our text inside reportlab's paragraph markup: escaped, set in fonts that have its characters,
    line breaks kept."""
    return "<br/>".join(fonts().runs(line) for line in value.split("\n"))


def whole_address(place: str, address: str) -> str:
    """The region's names and the household's address as one line, without saying a place twice: an
    address usually repeats the township and village ("燕店镇东王村 12 号" under "莘县燕店镇东王村")."""
    address = address.strip()
    compact = address.replace(" ", "")
    for start in range(len(place)):  # the longest end of `place` the address begins with
        if len(place) - start >= 2 and compact.startswith(place[start:]):
            return place + address[len(_prefix_with_spaces(address, len(place) - start)) :].lstrip()
    return f"{place}　{address}" if address else place


def _prefix_with_spaces(text: str, chars: int) -> str:
    """The start of `text` holding `chars` non-space characters (an address may carry spaces)."""
    seen = 0
    for i, ch in enumerate(text):
        if seen == chars:
            return text[:i]
        seen += ch != " "
    return text


def _numeral(i: int) -> str:
    if i <= 10:
        return NUMERALS[i - 1]
    tens, ones = divmod(i, 10)
    return ("" if tens == 1 else NUMERALS[tens - 1]) + "十" + (NUMERALS[ones - 1] if ones else "")


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render(letter: Letter) -> bytes:
    font = fonts().base
    body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=19, wordWrap="CJK")
    indented = ParagraphStyle("indented", parent=body, firstLineIndent=23)
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=4)
    small = ParagraphStyle(
        "small", parent=body, fontSize=10, leading=15, textColor=colors.HexColor("#444444")
    )
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=22, spaceBefore=8)
    detail = ParagraphStyle("detail", parent=body, leftIndent=14)

    story: list = [
        Paragraph("社会救助政策告知书", title),
        Paragraph(f"个案编号：{letter.case_id}　　　告知日期：{_chinese_date(letter.date)}", small),
        Spacer(1, 4 * mm),
        Paragraph(f"{_text(letter.head_name) or '户主'}（身份证号：{_text(letter.id_number)}）：", body),
        Paragraph(f"住址：{_text(whole_address(letter.place, letter.address))}", detail),
        Spacer(1, 2 * mm),
        Paragraph(
            "根据《社会救助暂行办法》和社会救助主动发现工作的要求，我们在走访中了解了您家庭的情况。"
            "您家庭可能符合以下救助帮扶政策，现将政策内容和申请方式告知如下：",
            indented,
        ),
    ]
    for i, item in enumerate(letter.items, 1):
        block = [
            Paragraph(f"{_numeral(i)}、{_text(item.title)}（{_text(item.department)}）", heading),
            Paragraph(f"可能适用的原因：{_text('；'.join(item.reasons))}。", detail),
        ]
        if item.summary:
            block.append(Paragraph(f"政策内容：{_text(item.summary)}", detail))
        if item.how_to_apply:
            block.append(Paragraph(f"如何申请：{_text(item.how_to_apply)}", detail))
        if item.contacts:
            block.append(Paragraph(f"咨询联系：{_text(item.contacts)}", detail))
        story.append(KeepTogether(block))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(CLOSING, indented),
        Spacer(1, 3 * mm),
        Paragraph("本人意愿（请勾选）：□ 愿意申请，请协助办理　　　□ 暂不申请　　　□ 需要再考虑", body),
        Spacer(1, 8 * mm),
    ]
    signatures = Table(
        [
            [
                Paragraph(f"告知人（工作人员）：{_text(letter.staff_name)}", body),
                Paragraph("本人签字（或按手印）：", body),
            ],
            [Paragraph("签字：______________", body), Paragraph("签字：______________", body)],
            [Paragraph("日期：______年____月____日", body), Paragraph("日期：______年____月____日", body)],
        ],
        colWidths=[85 * mm, 85 * mm],
    )
    signatures.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)])
    )
    story += [
        signatures,
        Spacer(1, 10 * mm),
        Paragraph(f"{_text(letter.county_name)}民政局（盖章）" if letter.county_name else "（盖章）", body),
        Paragraph("本告知书一式两份，本人和告知单位各执一份。", small),
    ]

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"社会救助政策告知书　第 {doc.page} 页")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
        title="社会救助政策告知书",
        author=letter.county_name + "民政局" if letter.county_name else "",
        subject=f"个案 {letter.case_id}",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
