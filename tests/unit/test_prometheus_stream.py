"""JSON decoded a piece at a time along a path (probes.prometheus.stream) reads as json.loads does."""

from __future__ import annotations

import json

import pytest

from probes.prometheus.stream import ANY, decode_along

DOCUMENTS = [
    '{"status":"success","data":{"alerts":[{"a":1},{"b":[2,3]}]}}',
    ' { "data" : { "alerts" : [ ] } , "status" : "success" } ',
    '{"status": "success", "data": {"alerts": null}}',
    '{"data": {"alerts": {"not": "a list"}}, "extra": [1, {"x": "y"}]}',
    '{"data": [1, 2], "status": "error", "error": "\\u00e9\\n"}',
    '{"data":{"groups":[{"rules":[{"alerts":[{"l":1}],"name":"x"},{"name":"y"}]},{"rules":[]}]}}',
    "[1, 2, 3]",
    '"just a string"',
    "{}",
]


@pytest.mark.parametrize("text", DOCUMENTS)
@pytest.mark.parametrize(
    "path", [("data", "alerts"), ("data", "groups", ANY, "rules", ANY, "alerts"), (), ("nothing",)]
)
def test_the_document_reads_as_json_loads_reads_it(text: str, path: tuple[str, ...]) -> None:
    assert decode_along(text, path, lambda element: element) == json.loads(text)


def test_each_element_on_the_path_goes_through_each_and_nothing_else_does() -> None:
    text = '{"data":{"groups":[{"rules":[{"alerts":[{"l":1},{"l":2}],"name":"x","labels":{"l":9}}]}]}}'
    seen: list[object] = []

    def each(element: object) -> str:
        seen.append(element)
        return "seen"

    body = decode_along(text, ("data", "groups", ANY, "rules", ANY, "alerts"), each)
    assert seen == [{"l": 1}, {"l": 2}]
    assert body["data"]["groups"][0]["rules"][0] == {
        "alerts": ["seen", "seen"],
        "name": "x",
        "labels": {"l": 9},
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"data":{"alerts":[{"a":1},]}}',
        '{"data":{"alerts":[1 2]}}',
        '{"data" 1}',
        "{1: 2}",
        "",
        "{} extra",
        "[1,",
    ],
)
def test_what_is_not_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        decode_along(text, ("data", "alerts"), lambda element: element)


def test_objects_on_the_path_can_be_handed_over_as_their_text() -> None:
    text = '{"data":{"alerts":[{"l":{"a":"x\\"}"}, "v":1} , {"deep":{"er":{"x":1}}}, [1], {"list":[1]}, 7]}}'
    texts: list[str] = []

    def each_text(element: str) -> object:
        texts.append(element)
        return json.loads(element)

    body = decode_along(text, ("data", "alerts"), lambda element: element, each_text=each_text)
    assert body == json.loads(text)
    # an object of objects of strings goes over as text; deeper ones, arrays and numbers are decoded
    assert texts == ['{"l":{"a":"x\\"}"}, "v":1}']
