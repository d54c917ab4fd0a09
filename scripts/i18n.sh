#!/usr/bin/env bash
# Translation catalogs: extract | update | compile | init <lang> | check
#   extract  write translations/messages.pot from the code and templates
#   update   extract, then merge the template into ru, kk and en catalogs
#   compile  build the .mo files (not in git; run at install/deploy time)
#   init     create a catalog for a new language: scripts/i18n.sh init <lang>
#   check    fail if a ru/kk message is untranslated or fuzzy
# (update also copies each English msgid into an empty en msgstr)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYBABEL=".venv/bin/pybabel"
PYTHON=".venv/bin/python"
POT="translations/messages.pot"
LANGS=(ru kk en)
REQUIRED=(ru kk)   # en may stay empty: the English msgid is the fallback

extract() {
    # Plural keywords need their ":1,2" spec: a bare "-k ngettext" replaces the
    # default spec and would drop msgid_plural.
    local tmp
    tmp="$(mktemp "${POT}.XXXXXX")"
    "$PYBABEL" extract -F babel.cfg -o "$tmp" \
        -k _ -k _l -k lazy_gettext -k gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
        --no-location --sort-output \
        --project="Personal Doctor" --copyright-holder="Personal Doctor" \
        . || { rm -f "$tmp"; return 1; }
    # Keep the old template if only POT-Creation-Date changed (less churn in git).
    if [[ -f "$POT" ]] && diff -q -I '^"POT-Creation-Date: ' "$POT" "$tmp" >/dev/null; then
        rm -f "$tmp"
    else
        chmod 644 "$tmp"
        mv "$tmp" "$POT"
    fi
}

update() {
    extract
    local lang
    for lang in "${LANGS[@]}"; do
        "$PYBABEL" update -i "$POT" -d translations -l "$lang" \
            --init-missing --no-fuzzy-matching --ignore-obsolete \
            --ignore-pot-creation-date
    done
    fill_en
}

# The English msgid is the English text: copy it into empty (or fuzzy) en msgstrs so the en
# catalog stays complete (an empty msgstr would fall back to the msgid anyway).
fill_en() {
    "$PYTHON" - <<'PY'
from babel.messages.pofile import read_po, write_po

path = "translations/en/LC_MESSAGES/messages.po"
with open(path, "rb") as f:
    cat = read_po(f, locale="en")
changed = False
for m in cat:
    if not m.id:
        continue
    if isinstance(m.id, tuple):
        if m.fuzzy or not all(m.string):
            m.string, changed = tuple(m.id), True
    elif m.fuzzy or not m.string:
        m.string, changed = m.id, True
    m.flags.discard("fuzzy")
if changed:
    with open(path, "wb") as f:
        write_po(f, cat, width=76, sort_output=True, include_previous=False)
PY
}

compile() {
    "$PYBABEL" compile -d translations --statistics
}

init() {
    local lang="${1:?usage: $0 init <lang>}"
    extract
    "$PYBABEL" init -i "$POT" -d translations -l "$lang"
}

check() {
    "$PYTHON" - "${REQUIRED[@]}" <<'PY'
import sys
from babel.messages.pofile import read_po

bad = 0
for lang in sys.argv[1:]:
    path = f"translations/{lang}/LC_MESSAGES/messages.po"
    with open(path, "rb") as f:
        cat = read_po(f, locale=lang)
    total = missing = fuzzy = 0
    for m in cat:
        if not m.id:
            continue
        total += 1
        strs = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        if not all(strs):
            missing += 1
            print(f"{lang}: untranslated: {m.id!r}")
        if m.fuzzy:
            fuzzy += 1
            print(f"{lang}: fuzzy: {m.id!r}")
    print(f"{lang}: {total} messages, {missing} untranslated, {fuzzy} fuzzy")
    bad += missing + fuzzy
sys.exit(1 if bad else 0)
PY
}

case "${1:-}" in
    extract) extract ;;
    update) update ;;
    compile) compile ;;
    init) shift; init "$@" ;;
    check) check ;;
    *) echo "usage: $0 {extract|update|compile|init <lang>|check}" >&2; exit 2 ;;
esac
