from __future__ import annotations

import pytest

from evalspec.spec.matrix import MatrixError, MatrixTooLarge, expand


def test_product_order_exclude_include() -> None:
    result = expand({
        "model": ["a", "b"], "t": [0, 1],
        "exclude": [{"model": "b", "t": 1}],
        "include": [{"model": "c", "t": 2}, {"model": "a", "t": 0}],
    }, budget=100)
    assert result.instances == [
        {"model": "a", "t": 0}, {"model": "a", "t": 1}, {"model": "b", "t": 0},
        {"model": "c", "t": 2},
    ]
    assert result.keys == ("model", "t")
    assert result.warnings == []


def test_exclude_matching_nothing_is_a_warning() -> None:
    result = expand({"model": ["a"], "exclude": [{"model": "z"}]}, budget=10)
    assert [(w.path, w.message, w.severity) for w in result.warnings] == [
        (("matrix", "exclude", 0), "this exclude entry matches no combination", "warning")
    ]


def test_budget_stops_expansion_early() -> None:
    with pytest.raises(MatrixTooLarge):
        expand({"a": list(range(1000)), "b": list(range(1000))}, budget=10)


def test_include_only_matrix() -> None:
    assert expand({"include": [{"m": 1}]}, budget=5).instances == [{"m": 1}]


@pytest.mark.parametrize("matrix, path, message", [
    ([1], ("matrix",), "matrix must be a mapping of axis name to a list of values"),
    ({}, ("matrix",), "matrix has no axes; give at least one list of values"),
    ({"m": "a"}, ("matrix", "m"), "matrix axis 'm' must be a non-empty list"),
    ({"m": [1], "include": [3]}, ("matrix", "include", 0),
     "each 'include' entry must be a non-empty mapping"),
])
def test_matrix_errors(matrix, path, message) -> None:
    with pytest.raises(MatrixError) as exc:
        expand(matrix, budget=10)
    assert (exc.value.path, exc.value.message) == (path, message)
