#!/bin/sh
# Install what grantgen needs from the system when it is missing: LibreOffice (headless Writer,
# for DOCX -> PDF), the Liberation fonts (metric-compatible with Times New Roman), fallback fonts
# for names in other scripts, and poppler-utils (pdftoppm/pdftotext: previews and tests).
# With --test: what only the tests need (Chromium). Debian/Ubuntu only; elsewhere it says what
# to install.
set -eu

need=""
command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
if ! fc-list 2>/dev/null | grep -q "Liberation Serif"; then need="$need fonts-liberation fonts-liberation2"; fi
# fallback fonts for names in other scripts: Greek, Cyrillic, Hebrew, Arabic (FreeSerif, DejaVu), Chinese, Japanese, Korean (Noto CJK)
fc-list 2>/dev/null | grep -q "FreeSerif" || need="$need fonts-freefont-ttf fonts-dejavu-core"
fc-list 2>/dev/null | grep -q "Noto Serif CJK" || need="$need fonts-noto-cjk"
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
if [ "${1:-}" = "--test" ]; then
    # only the tests need these: headless Chromium reads the review summary back
    need=""
    command -v chromium >/dev/null 2>&1 || need="$need chromium"
fi

[ -z "$need" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "grantgen needs:$need -- install them with your system's package manager." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "grantgen needs:$need -- run as root: apt-get install$need" >&2
        exit 1
    fi
fi
echo "Installing:$need"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need fontconfig >/dev/null
fc-cache -f >/dev/null 2>&1 || true
