#!/usr/bin/env bash
# test_k8s.sh — the Kubernetes manifests (deploy/k8s), checked without a
# cluster.
#
# Scenarios:
# - `kubectl kustomize deploy/k8s` renders them, with no warning;
# - every rendered object passes the offline schema validation of
#   tests/deploy/k8s-validate/validate.mjs (the npm package
#   kubernetes-models: types, required fields, enums, and no unknown field),
#   and the validator does reject a broken copy (a misspelt field, a
#   string where an integer belongs);
# - what the manifests must say holds (checks.mjs): three pods started in
#   parallel under a headless Service that publishes them before they are
#   ready, stable announced names, kvnode-0 as the seed, the Secret and the
#   ConfigMap wired in, probes on kvnode-probe.sh, one pod per machine, a
#   PodDisruptionBudget of one, a PVC at /data, every kvnode option real;
# - the image ships the probe script the pods run.
#
# Environment: KVNODE (its --help lists the options); kubectl and the
# validator come from scripts/install-deps.sh (exit 77 = skipped without).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/deploy/lib.sh
. "$HERE/lib.sh"

[ -x "${KVNODE:-}" ] || fail "KVNODE must name the kvnode binary under test"
VAL=$HERE/k8s-validate
for tool in kubectl node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (bash scripts/install-deps.sh installs it)"
        exit 77
    fi
done
if [ ! -f "$VAL/node_modules/kubernetes-models/package.json" ]; then
    echo "SKIP: the validator is not installed (bash scripts/install-deps.sh installs it)"
    exit 77
fi

TMP=$(mktemp -d /tmp/kvnode-k8s-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

note "kubectl kustomize deploy/k8s"
kubectl kustomize "$ROOT/deploy/k8s" >"$TMP/rendered.yaml" 2>"$TMP/kustomize.err" ||
    fail "kustomize: $(cat "$TMP/kustomize.err")"
[ ! -s "$TMP/kustomize.err" ] || fail "kustomize warned: $(cat "$TMP/kustomize.err")"
kinds=$(sed -n 's/^kind: //p' "$TMP/rendered.yaml" | sort | tr '\n' ' ')
[ "$kinds" = "ConfigMap PodDisruptionBudget Secret Service Service StatefulSet " ] ||
    fail "rendered kinds: $kinds"

note "schema validation of every object"
node "$VAL/validate.mjs" <"$TMP/rendered.yaml" || fail "schema validation"
sed 's/readinessProbe:/readinesProbe:/' "$TMP/rendered.yaml" >"$TMP/typo.yaml"
if node "$VAL/validate.mjs" <"$TMP/typo.yaml" 2>"$TMP/typo.err"; then
    fail "the validator accepted a misspelt field"
fi
grep -q 'readinesProbe: unknown field' "$TMP/typo.err" || fail "typo not named: $(cat "$TMP/typo.err")"
sed 's/^  replicas: 3$/  replicas: "3"/' "$TMP/rendered.yaml" >"$TMP/type.yaml"
if node "$VAL/validate.mjs" <"$TMP/type.yaml" 2>"$TMP/type.err"; then
    fail "the validator accepted a string replica count"
fi
grep -q 'replicas must be integer' "$TMP/type.err" || fail "type error not named: $(cat "$TMP/type.err")"

note "what the manifests say"
"$KVNODE" --help | sed -n 's/^  \(--[a-z0-9-]*\) .*/\1/p' >"$TMP/options"
node "$VAL/checks.mjs" "$TMP/options" <"$TMP/rendered.yaml" || fail "manifest checks"
grep -q '^COPY deploy/kvnode-probe.sh /usr/local/bin/kvnode-probe.sh$' "$ROOT/deploy/Dockerfile" ||
    fail "the image does not ship /usr/local/bin/kvnode-probe.sh"
echo "PASS: kubernetes manifests"
