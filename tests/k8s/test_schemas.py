"""Every object the chart renders is valid for Kubernetes 1.31 to 1.35 and its operators."""

import pytest

from tests.k8s.chart import VARIANTS, Manifest, render_variant
from tests.k8s.validate import KUBERNETES_VERSIONS, problems


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid(variant: str, version: str) -> None:
    docs = render_variant(variant)
    found = [problem for doc in docs for problem in problems(doc, version)]
    assert not found, "\n".join(found)


def test_the_validation_catches_a_misspelt_field() -> None:
    """A field the API server would drop silently, in a core kind and in a custom one."""
    docs = render_variant("production")
    for doc in docs:
        if doc["kind"] in ("Deployment", "Cluster"):
            doc["spec"]["replicaz"] = 2
    broken: list[Manifest] = [doc for doc in docs if doc["kind"] in ("Deployment", "Cluster")]
    assert {doc["kind"] for doc in broken} == {"Deployment", "Cluster"}
    for doc in broken:
        assert any("replicaz" in problem for problem in problems(doc, KUBERNETES_VERSIONS[-1]))


def test_an_unknown_kind_is_an_error() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    assert problems(doc, KUBERNETES_VERSIONS[0]) == [
        "Gadget/x: no schema for example.com/v1 Gadget (Kubernetes 1.31.0)"
    ]
