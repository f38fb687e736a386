#!/usr/bin/env bash
# What `make bench` needs beyond the stack: hey (HTTP load at a fixed concurrency, Go module
# proxy). pgbench, redis-benchmark and Kafka's ProducerPerformance come with the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=$PWD/.cloudmart/tools
HEY_VERSION=v0.1.5
mkdir -p "$TOOLS/bin"
if [ -x "$TOOLS/bin/hey" ] && [ "$(cat "$TOOLS/hey.stamp" 2>/dev/null)" = "$HEY_VERSION" ]; then
  exit 0
fi
printf '  %-28s' "hey $HEY_VERSION"; t=$(date +%s)
rm -rf "$TOOLS/build/hey"; mkdir -p "$TOOLS/build/hey"
GOBIN=$TOOLS/build/hey GOFLAGS=-buildvcs=false go install -ldflags "-s -w" \
  "github.com/rakyll/hey@$HEY_VERSION" >"$TOOLS/hey-build.log" 2>&1 \
  || { echo "FAILED: see $TOOLS/hey-build.log"; exit 1; }
mv "$TOOLS/build/hey/hey" "$TOOLS/bin/hey"
echo "$HEY_VERSION" > "$TOOLS/hey.stamp"
printf 'ok (%ss)\n' "$(( $(date +%s) - t ))"
