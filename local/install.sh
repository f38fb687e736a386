#!/usr/bin/env bash
# Installs what the local stack needs and is missing; a second run only checks (stamps).
# Debian packages (apt-get, as root), uv, the workspace environment, the DynamoDB emulator's
# and localstripe's own venvs, the Kafka broker jars (Maven), the analytics job (Maven), mailpit
# with its UI (Go + npm), Toxiproxy (Go; fault injection), flagd (Go; fault flags, where the
# module proxy serves it) and the web UI (npm). Chromium (Debian) drives the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.cloudmart/tools
MAILPIT_VERSION=v1.27.11
TOXIPROXY_VERSION=v2.5.0
FLAGD_VERSION=v0.12.9
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never   # use the machine's Python 3.11, never download one
mkdir -p "$TOOLS/bin" "$TOOLS/venvs"

step() { printf '  %-28s' "$1"; }
done_in() { printf 'ok (%ss)\n' "$(( $(date +%s) - $1 ))"; }
stamp_ok() { [ -f "$TOOLS/$1.stamp" ] && [ "$(cat "$TOOLS/$1.stamp")" = "$2" ]; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

echo "install"

step "debian packages"; t=$(date +%s)
PGBIN=/usr/lib/postgresql/15/bin
if [ -x $PGBIN/postgres ] && command -v pgbouncer >/dev/null && command -v redis-server >/dev/null \
   && command -v prometheus >/dev/null && command -v kcat >/dev/null && command -v psql >/dev/null \
   && [ -x /usr/bin/chromium ]; then
  echo "ok (present)"
else
  [ "$(id -u)" = 0 ] || { echo "FAILED: installing Debian packages needs root (apt-get)"; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    postgresql-15 pgbouncer redis-server prometheus kcat chromium >"$TOOLS/apt.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/apt.log"; exit 1; }
  done_in "$t"
fi

step "uv"; t=$(date +%s)
if command -v uv >/dev/null; then echo "ok ($(uv --version | cut -d' ' -f2))"; else
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "uv==$UV_VERSION"
  done_in "$t"
fi
uv() { if type -P uv >/dev/null; then command uv "$@"; else python3 -m uv "$@"; fi; }

step "workspace environment"; t=$(date +%s)
# Bytecode now, not at the first start: seven services importing a cold venv at once on two
# cores can take longer than their start timeout.
uv sync --frozen --quiet --all-packages --compile-bytecode; done_in "$t"

tool_venv() {  # name requirements-file
  local h; h=$(hash_of "$2")
  step "$1 venv"; t=$(date +%s)
  if stamp_ok "$1" "$h"; then echo "ok (present)"; return; fi
  rm -rf "$TOOLS/venvs/$1"
  uv venv --quiet --python python3.11 "$TOOLS/venvs/$1"
  uv pip install --quiet --python "$TOOLS/venvs/$1" -r "$2"
  echo "$h" > "$TOOLS/$1.stamp"; done_in "$t"
}
tool_venv moto local/dynamodb/requirements.txt
tool_venv localstripe local/stripe/requirements.txt

step "kafka broker jars"; t=$(date +%s)
h=$(hash_of local/kafka/pom.xml)
if stamp_ok kafka "$h"; then echo "ok (present)"; else
  rm -rf "$TOOLS/kafka/lib"
  mvn -q -B -f local/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$TOOLS/kafka/lib" >"$TOOLS/kafka-mvn.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/kafka-mvn.log"; exit 1; }
  echo "$h" > "$TOOLS/kafka.stamp"; done_in "$t"
fi

step "analytics job (Flink)"; t=$(date +%s)
h=$(hash_of analytics/pom.xml $(find analytics/src/main -type f | sort))
if stamp_ok analytics "$h" && [ -f "$TOOLS/analytics/order-analytics.jar" ]; then echo "ok (present)"; else
  # The local fat jar (Flink bundled) for `java -jar` in a MiniCluster; copied out of target/
  # so that a `mvn clean` in analytics/ never pulls it from under a running job.
  mvn -q -B -f analytics/pom.xml clean package -Plocal -DskipTests >"$TOOLS/analytics-mvn.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/analytics-mvn.log"; exit 1; }
  mkdir -p "$TOOLS/analytics"
  cp analytics/target/order-analytics-0.1.0.jar "$TOOLS/analytics/order-analytics.jar"
  echo "$h" > "$TOOLS/analytics.stamp"; done_in "$t"
fi

step "mailpit $MAILPIT_VERSION"; t=$(date +%s)
if stamp_ok mailpit "$MAILPIT_VERSION" && [ -x "$TOOLS/bin/mailpit" ]; then echo "ok (present)"; else
  # `go install` alone gives a blank web UI (its assets are built by npm): build the UI first.
  log=$TOOLS/mailpit-build.log
  src=$(go mod download -json "github.com/axllent/mailpit@$MAILPIT_VERSION" 2>>"$log" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || { echo "FAILED: see $log"; exit 1; }
  rm -rf "$TOOLS/build/mailpit"; mkdir -p "$TOOLS/build"
  cp -r "$src" "$TOOLS/build/mailpit"; chmod -R u+w "$TOOLS/build/mailpit"
  ( cd "$TOOLS/build/mailpit" \
    && npm ci --no-audit --no-fund && npm run build \
    && go build -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" \
         -o "$TOOLS/bin/mailpit" . ) >>"$log" 2>&1 || { echo "FAILED: see $log"; exit 1; }
  rm -rf "$TOOLS/build/mailpit"
  echo "$MAILPIT_VERSION" > "$TOOLS/mailpit.stamp"; done_in "$t"
fi

step "toxiproxy $TOXIPROXY_VERSION"; t=$(date +%s)
if stamp_ok toxiproxy "$TOXIPROXY_VERSION" && [ -x "$TOOLS/bin/toxiproxy-server" ]; then echo "ok (present)"; else
  rm -rf "$TOOLS/build/toxiproxy"; mkdir -p "$TOOLS/build/toxiproxy"
  GOBIN=$TOOLS/build/toxiproxy GOFLAGS=-buildvcs=false go install -ldflags "-s -w" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" >"$TOOLS/toxiproxy-build.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/toxiproxy-build.log"; exit 1; }
  mv "$TOOLS/build/toxiproxy/server" "$TOOLS/bin/toxiproxy-server"
  echo "$TOXIPROXY_VERSION" > "$TOOLS/toxiproxy.stamp"; done_in "$t"
fi

step "flagd $FLAGD_VERSION"; t=$(date +%s)
# The Go module proxy refused this module when it was added (403, ADR 0020): the stack then
# serves the flag file through local/flagd/flagd_sync.py, which speaks flagd's sync API. The
# refusal is stamped, so the proxy is asked again only when FLAGD_VERSION changes.
if stamp_ok flagd "$FLAGD_VERSION" && [ -x "$TOOLS/bin/flagd" ]; then echo "ok (present)"
elif stamp_ok flagd "$FLAGD_VERSION unavailable"; then echo "not served (flagd-compatible stand-in)"
else
  rm -rf "$TOOLS/build/flagd"; mkdir -p "$TOOLS/build/flagd"
  if GOBIN=$TOOLS/build/flagd GOFLAGS=-buildvcs=false go install -ldflags "-s -w" \
       "github.com/open-feature/flagd/flagd@$FLAGD_VERSION" >"$TOOLS/flagd-build.log" 2>&1; then
    mv "$TOOLS/build/flagd/flagd" "$TOOLS/bin/flagd"
    echo "$FLAGD_VERSION" > "$TOOLS/flagd.stamp"; done_in "$t"
  elif grep -q "403 Forbidden\|not available" "$TOOLS/flagd-build.log"; then
    echo "$FLAGD_VERSION unavailable" > "$TOOLS/flagd.stamp"
    echo "not served (flagd-compatible stand-in; see $TOOLS/flagd-build.log)"
  else
    # Not fatal: the stand-in serves the flags; the next install tries the build again.
    echo "build failed (flagd-compatible stand-in; see $TOOLS/flagd-build.log)"
  fi
fi

step "web UI"; t=$(date +%s)
# The API types (web/src/api/schema.d.ts) are generated by the build from web/openapi.json.
h=$(hash_of web/package-lock.json web/index.html web/vite.config.ts web/tsconfig.json web/openapi.json \
  $(find web/src -type f ! -name schema.d.ts | sort))
if stamp_ok web "$h" && [ -f web/dist/index.html ]; then echo "ok (present)"; else
  ( cd web && npm ci --no-audit --no-fund && npm run build ) >"$TOOLS/web-build.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/web-build.log"; exit 1; }
  echo "$h" > "$TOOLS/web.stamp"; done_in "$t"
fi
