"""The reads the dashboard repeats build their API paths themselves: a name stays in its own segment."""

from __future__ import annotations

from probes.kubernetes.client import api_path


def test_each_segment_is_quoted_so_a_name_cannot_step_out_of_its_place() -> None:
    assert api_path("api", "v1", "namespaces", "production", "pods") == "/api/v1/namespaces/production/pods"
    assert api_path("api", "v1", "namespaces", "a/../b", "pods") == "/api/v1/namespaces/a%2F..%2Fb/pods"
    assert api_path("api", "v1", "namespaces", "x?watch=1", "pods") == "/api/v1/namespaces/x%3Fwatch%3D1/pods"
