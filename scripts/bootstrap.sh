#!/usr/bin/env bash
# Create the virtualenv and install the pinned requirements.
# On a fresh Debian machine python3 may lack venv/ensurepip: install python3-venv when root.
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c "import ensurepip" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${minor}-venv" >/dev/null 2>&1 \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "python3 cannot create virtualenvs: install the python3-venv package" >&2
    exit 1
  fi
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install -q -r requirements-dev.txt
# Byte-compile the project once: where PYTHONDONTWRITEBYTECODE is set (as on CI machines) every
# engine process would otherwise compile its modules again at start.
"$venv/bin/python" -m compileall -q -j 0 dmsconsole endpoints tasks monitoring >/dev/null
