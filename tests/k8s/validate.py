"""Rendered objects against the schemas a cluster would check them with, offline.

Kubernetes' own kinds: `kubernetes-validate` (PyPI), strict (an unknown field is an
error, as `kubectl apply --validate=strict` makes it). Custom resources: the
openAPIV3Schema of the operator's CRD, vendored in tests/k8s/crds/ (where each came from
is in the file; scripts/k8s/vendor_crds.py updates them). The API server prunes fields a
structural schema does not declare, silently; here they are errors, so that a misspelt
field fails the test instead of vanishing in the cluster.
"""

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, validate

CRDS = Path(__file__).resolve().parent / "crds"
# The Kubernetes minor versions the chart supports (Chart.yaml's kubeVersion and up).
KUBERNETES_VERSIONS = ("1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0")


def closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that lists its
    properties and neither allows more nor keeps unknown fields."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    return result


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the CRD's schema, closed."""
    schemas = {}
    for path in sorted(CRDS.glob("*.json")):
        document = json.loads(path.read_text())
        schema = closed(document["openAPIV3Schema"])
        # apiVersion, kind and metadata are the API server's, not the CRD's to define.
        schema["properties"].update({"apiVersion": {}, "kind": {}, "metadata": {}})
        schemas[(document["apiVersion"], document["kind"])] = schema
    return schemas


def problems(doc: dict[str, Any], version: str) -> list[str]:
    """What is wrong with one object for this Kubernetes version ([] when valid)."""
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    try:
        validate(doc, version, strict=True)
        return []
    except ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return [f"{name} (Kubernetes {version}): {path}: {error.message}"]
    except SchemaNotFoundError:
        pass
    schema = crd_schemas().get((doc["apiVersion"], doc["kind"]))
    if schema is None:
        return [f"{name}: no schema for {doc['apiVersion']} {doc['kind']} (Kubernetes {version})"]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{name} ({doc['apiVersion']} CRD): {'.'.join(str(p) for p in error.path)}: {error.message}"
        for error in validator.iter_errors(doc)
    ]
