#!/bin/sh
# Install what grantgen needs from the system when it is missing: LibreOffice (headless Writer,
# for DOCX -> PDF) with its Python script provider (grantgen keeps one LibreOffice running per
# worker for a whole batch through a script of its own), the Liberation fonts
# (metric-compatible with Times New Roman), fallback fonts for names in other scripts, and
# poppler-utils (pdftoppm/pdftotext: previews and tests).
# Optional: tcmalloc, a faster memory allocator grantgen preloads into LibreOffice (about a
# fifth less CPU per agreement); nothing fails without it.
# With --test: what only the tests need (Chromium). Debian/Ubuntu only; elsewhere it says what
# to install.
set -eu

has_tcmalloc() {
    for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        [ -f "$dir/libtcmalloc_minimal.so.4" ] && return 0
    done
    return 1
}

need=""
command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
# without it grantgen starts LibreOffice once per group of documents (slower, same PDFs)
if [ -d /usr/lib/libreoffice/program ] || [ -n "$need" ]; then
    [ -f /usr/lib/libreoffice/program/pythonscript.py ] || need="$need libreoffice-script-provider-python python3-uno"
fi
if ! fc-list 2>/dev/null | grep -q "Liberation Serif"; then need="$need fonts-liberation fonts-liberation2"; fi
# fallback fonts for names in other scripts: Greek, Cyrillic, Hebrew, Arabic (FreeSerif, DejaVu), Chinese, Japanese, Korean (Noto CJK)
fc-list 2>/dev/null | grep -q "FreeSerif" || need="$need fonts-freefont-ttf fonts-dejavu-core"
fc-list 2>/dev/null | grep -q "Noto Serif CJK" || need="$need fonts-noto-cjk"
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
optional=""
has_tcmalloc || optional="libtcmalloc-minimal4"
if [ "${1:-}" = "--test" ]; then
    # only the tests need these: headless Chromium reads the review summary back
    need=""
    optional=""
    command -v chromium >/dev/null 2>&1 || need="$need chromium"
fi

[ -z "$need$optional" ] && exit 0
skip_optional() {
    echo "note: $optional (a faster memory allocator for LibreOffice) is not installed;" \
        "grantgen works without it, a little slower" >&2
    exit 0
}

if ! command -v apt-get >/dev/null 2>&1; then
    [ -z "$need" ] && skip_optional
    echo "grantgen needs:$need -- install them with your system's package manager." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        [ -z "$need" ] && skip_optional
        echo "grantgen needs:$need -- run as root: apt-get install$need" >&2
        exit 1
    fi
fi
echo "Installing:$need $optional"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
if [ -n "$need" ]; then
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need fontconfig >/dev/null
    fc-cache -f >/dev/null 2>&1 || true
fi
if [ -n "$optional" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $optional >/dev/null 2>&1 \
        || skip_optional
fi
