"""The compiled Chinese catalogue matches its source, so a new string cannot ship untranslated."""

from __future__ import annotations

from pathlib import Path

import polib

import safetynet

CATALOGUE = Path(safetynet.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_every_message_is_translated_and_compiled() -> None:
    po = polib.pofile(str(CATALOGUE / "django.po"))
    assert po.percent_translated() == 100, [e.msgid for e in po.untranslated_entries()]
    mo = polib.mofile(str(CATALOGUE / "django.mo"))
    compiled = {e.msgid: e.msgstr or e.msgstr_plural for e in mo}
    for entry in po.translated_entries():
        assert compiled.get(entry.msgid) == (entry.msgstr or entry.msgstr_plural), entry.msgid
