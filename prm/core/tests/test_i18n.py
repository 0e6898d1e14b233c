"""The translation catalogues are complete and compiled (R0: bilingual UI).

Source strings are English. ``zh_Hans`` must translate every one. ``en`` must list every
one too (its msgstr may equal the msgid): Django falls back to the default language
(zh-hans) for a string missing from the active catalogue, so an incomplete English
catalogue would show Chinese to English users. The ``.mo`` files must be compiled from
the current ``.po`` files, or the running site shows older texts.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ("zh_Hans", "en")
FIX = (
    "run `cd prm && prm makemessages -l zh_Hans -l en --no-obsolete`, translate, then "
    "`prm compilemessages` (GNU gettext)"
)
PYTHON_FORMAT = re.compile(r"%\((\w+)\)[sdif]")
BRACE_FORMAT = re.compile(r"\{(\w+)\}")


def catalogue(language: str, suffix: str) -> Path:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"django.{suffix}"
    if not path.is_file():
        pytest.fail(f"{path} is missing: {FIX}.")
    return path


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete and entry.msgid != ""]


def label(entry: polib.POEntry) -> str:
    context = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{context}{entry.msgid!r} (line {entry.linenum})"


def translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated(language):
    po = polib.pofile(str(catalogue(language, "po")))

    entries = live_entries(po)
    untranslated = [
        label(entry)
        for entry in entries
        if "fuzzy" in entry.flags or not all(text.strip() for text in translations(entry))
    ]

    assert entries, f"{language}: the catalogue is empty: {FIX}."
    assert untranslated == [], f"{language}: untranslated or fuzzy entries: {FIX}."


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    po = polib.pofile(str(catalogue(language, "po")))

    broken = []
    for entry in live_entries(po):
        for pattern in (PYTHON_FORMAT, BRACE_FORMAT):
            sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
            expected = set().union(*(pattern.findall(source) for source in sources))
            for text in translations(entry):
                found = set(pattern.findall(text))
                # A plural form may leave the count out ("One file"), never add a field.
                fits = found <= expected if entry.msgid_plural else found == expected
                if text and not fits:
                    broken.append(label(entry))

    assert broken == [], f"{language}: a translation drops or adds a %(name)s/{{name}} field."


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po_file(language):
    po = polib.pofile(str(catalogue(language, "po")))
    mo = polib.mofile(str(catalogue(language, "mo")))

    def key(entry) -> tuple[str, str]:
        return (entry.msgctxt or "", entry.msgid)

    expected = {
        key(entry): translations(entry)
        for entry in live_entries(po)
        if "fuzzy" not in entry.flags and all(translations(entry))
    }
    compiled = {key(entry): translations(entry) for entry in mo if entry.msgid != ""}

    stale = sorted(
        f"{msgid!r}"
        for (ctx, msgid), texts in expected.items()
        if compiled.get((ctx, msgid)) != texts
    )
    extra = sorted(f"{msgid!r}" for (ctx, msgid) in compiled.keys() - expected.keys())
    assert stale == [], f"{language}: django.mo is older than django.po: {FIX}."
    assert extra == [], f"{language}: django.mo holds entries no longer in django.po: {FIX}."
