"""Vendor the schemas of custom resources the Helm chart renders, for offline validation.

The chart can render objects of operators' CustomResourceDefinitions (CloudNativePG's
Cluster and ScheduledBackup, the Barman Cloud plugin's ObjectStore, the Prometheus
Operator's ServiceMonitor, Traefik's IngressRoute and Middleware). No cluster and no
schema catalogue is reachable where the chart is tested, so each CRD's `openAPIV3Schema`
is kept in tests/k8s/crds/ with where it came from, without its descriptions (they are
most of the bytes and play no part in validation). To update one, take the CRD file of
the new release from the operator's repository and run, e.g.:

    .venv/bin/python scripts/k8s/vendor_crds.py \\
        --source "github.com/cloudnative-pg/cloudnative-pg v1.30.0 (COMMIT) \\
                  config/crd/bases/postgresql.cnpg.io_clusters.yaml" \\
        postgresql.cnpg.io_clusters.yaml

It writes tests/k8s/crds/<group>_<kind>_<version>.json for every served version of the
CRD (tests/k8s/validate.py reads them).
"""

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parents[2] / "tests" / "k8s" / "crds"


def without_descriptions(node: Any) -> Any:
    """The schema with every `description: <text>` dropped (a property that happens to
    be called `description` is a mapping, and stays)."""
    if isinstance(node, dict):
        return {
            key: without_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [without_descriptions(item) for item in node]
    return node


def vendor(crd_file: Path, source: str, out: Path) -> list[Path]:
    crd = yaml.safe_load(crd_file.read_text())
    if crd.get("kind") != "CustomResourceDefinition":
        raise SystemExit(f"{crd_file}: not a CustomResourceDefinition")
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    written = []
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        document = {
            "source": source,
            "apiVersion": f"{group}/{version['name']}",
            "kind": kind,
            "openAPIV3Schema": without_descriptions(version["schema"]["openAPIV3Schema"]),
        }
        path = out / f"{group}_{kind}_{version['name']}.json"
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="repository, tag, commit and path")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("crd", type=Path, nargs="+")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for crd_file in args.crd:
        for path in vendor(crd_file, args.source, args.out):
            print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
