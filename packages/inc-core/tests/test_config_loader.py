from __future__ import annotations

import dataclasses
import itertools

from hypothesis import given
from hypothesis import strategies as st

from inc_core import ConfigLoader, SequentialSampler
from inc_core.config.loader import expand_config


def test_last_field_varies_fastest() -> None:
    entries = [(e["dtype"], e["bits"]) for e in ConfigLoader({"dtype": ["int", "fp"], "bits": [4, 8]})]
    assert entries == [("int", 4), ("int", 8), ("fp", 4), ("fp", 8)]


def test_empty_list_is_ignored_and_list_of_lists_expands_per_element() -> None:
    entries = expand_config({"bits": [], "group": [[1, 2], [3]], "name": "x"})
    assert entries == [{"group": (1, 2), "name": "x"}, {"group": (3,), "name": "x"}]


def test_duplicates_across_the_set_are_kept_once() -> None:
    loader = ConfigLoader([{"bits": [4, 8]}, {"bits": [8, 6]}, {"bits": 4}])
    assert [e["bits"] for e in loader] == [4, 8, 6]


def test_dataclass_configs_expand_in_declaration_order() -> None:
    @dataclasses.dataclass
    class RTN:
        bits: list[int]
        group_size: list[int]

    assert [(e["bits"], e["group_size"]) for e in ConfigLoader(RTN([4, 8], [32, 128]))] == [
        (4, 32),
        (4, 128),
        (8, 32),
        (8, 128),
    ]


def test_op_overrides_are_not_expanded() -> None:
    loader = ConfigLoader({"dtype": ["int8", "bf16"], "op_name_dict": {"fc.*": {"dtype": "fp32"}}})
    assert [e["op_name_dict"] for e in loader] == [{"fc.*": {"dtype": "fp32"}}] * 2


def test_sampler_class_or_instance() -> None:
    assert len(ConfigLoader({"a": [1, 2, 3]}, SequentialSampler)) == 3


@given(st.dictionaries(st.sampled_from("abcde"), st.lists(st.integers(0, 3), max_size=3), max_size=4))
def test_expansion_is_the_full_distinct_product(fields) -> None:
    entries = list(ConfigLoader(fields))
    tunable = [sorted(set(v), key=v.index) for v in fields.values() if v]
    expected = len(list(itertools.product(*tunable))) if tunable else 1
    assert len(entries) == expected
    keys = [tuple(sorted(e.items())) for e in entries]
    assert len(set(keys)) == len(keys)
