"""The Chinese catalogue: django.po is the only source of the translations, django.mo is compiled from it.

Workflow (in src/safetynet): `django-admin makemessages -l zh_Hans`, translate in the .po, then
`django-admin compilemessages -l zh_Hans`. These tests catch a string shipped untranslated or fuzzy, a msgid
defined twice, and a .mo that was not recompiled after the .po changed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polib

import safetynet

CATALOGUE = Path(safetynet.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"

Key = tuple[str | None, str, str]  # msgctxt, msgid, msgid_plural


def _key(entry: polib.POEntry | polib.MOEntry) -> Key:
    return (entry.msgctxt or None, entry.msgid, entry.msgid_plural or "")


def _translation(entry: polib.POEntry | polib.MOEntry) -> str | tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
    return entry.msgstr


def _po() -> polib.POFile:
    return polib.pofile(str(CATALOGUE / "django.po"))


def _live(po: polib.POFile) -> list[polib.POEntry]:
    """Entries that count: the header and obsolete (#~) ones are not messages."""
    return [e for e in po if e.msgid and not e.obsolete]


def test_po_has_no_duplicate_msgid() -> None:
    # gettext keeps one translation per msgid (within a msgctxt): a second definition would be silently lost.
    counts = Counter((e.msgctxt or None, e.msgid) for e in _live(_po()))
    assert [key for key, n in counts.items() if n > 1] == []


def test_every_message_is_translated() -> None:
    po = _po()
    missing = []
    for entry in _live(po):
        if entry.fuzzy:  # compilemessages leaves fuzzy entries out: the English would show
            missing.append(entry.msgid)
        elif entry.msgid_plural:
            # Chinese has one plural form (nplurals=1), and every form must be filled.
            if not entry.msgstr_plural or not all(entry.msgstr_plural.values()):
                missing.append(entry.msgid)
        elif not entry.msgstr:
            missing.append(entry.msgid)
    assert missing == []
    assert po.metadata.get("Plural-Forms") == "nplurals=1; plural=0;"


def test_mo_is_compiled_from_the_current_po() -> None:
    # Run `django-admin compilemessages -l zh_Hans` in src/safetynet when this fails.
    po = _po()
    source = {_key(e): _translation(e) for e in po.translated_entries() if e.msgid}
    mo = polib.mofile(str(CATALOGUE / "django.mo"))
    compiled = {_key(e): _translation(e) for e in mo if e.msgid}
    stale = sorted(k[1] for k in source.keys() & compiled.keys() if source[k] != compiled[k])
    assert stale == [], "translations that differ in django.mo"
    assert sorted(k[1] for k in source.keys() - compiled.keys()) == [], "missing from django.mo"
    assert sorted(k[1] for k in compiled.keys() - source.keys()) == [], "in django.mo but not django.po"
    assert mo.metadata.get("Plural-Forms") == po.metadata.get("Plural-Forms")
