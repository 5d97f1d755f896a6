#!/usr/bin/env bash
# Validates the deployment material: every YAML file parses, and every Kubernetes manifest
# validates against the Kubernetes schemas (strict: unknown fields are errors).
# Installs its tools into a private virtualenv (PyPI: pyyaml, kubernetes-validate).
set -euo pipefail
cd "$(dirname "$0")"
venv="${ECOHUB_INFRA_VENV:-${TMPDIR:-/tmp}/ecohub-infra-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pyyaml kubernetes-validate
fi
"$venv/bin/python" - <<'PY'
import pathlib, sys, yaml
bad = 0
for path in sorted(pathlib.Path(".").rglob("*.y*ml")):
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
        print(f"ok   {path} ({len(docs)} document(s))")
    except yaml.YAMLError as e:
        bad += 1
        print(f"FAIL {path}: {e}")
compose = yaml.safe_load(pathlib.Path("compose/docker-compose.yml").read_text())
for name in ["node1.kurrentdb", "node2.kurrentdb", "node3.kurrentdb", "hub1", "hub2", "lb"]:
    if name not in compose["services"]:
        bad += 1
        print(f"FAIL compose lacks service {name}")
sys.exit(1 if bad else 0)
PY
"$venv/bin/kubernetes-validate" --strict k8s/*.yaml
echo "infra: all manifests valid"
