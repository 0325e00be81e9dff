# Shared by install.sh and run-tests.sh (sourced, POSIX sh).

# ensure_packages PKG...: installs the Debian packages that are missing.
ensure_packages() {
  need=""
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
  done
  if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  fi
}

# ensure_vpopmail_user HOME: group vchkpw (gid 89) and user vpopmail (uid 89) when missing.
ensure_vpopmail_user() {
  getent group vchkpw >/dev/null || groupadd -g 89 vchkpw
  getent passwd vpopmail >/dev/null || useradd -u 89 -g 89 -M -d "$1" -s /usr/sbin/nologin vpopmail 2>/dev/null
}

# ensure_pip MODULE=PACKAGE ...: PyPI packages whose module does not import yet.
ensure_pip() {
  need=""
  for mp in "$@"; do
    python3 -c "import ${mp%%=*}" 2>/dev/null || need="$need ${mp#*=}"
  done
  if [ -n "$need" ]; then python3 -m pip install -q $need; fi
}
