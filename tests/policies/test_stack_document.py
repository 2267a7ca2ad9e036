"""Where the gate finds each block of a stack: key_lines, which maps Checkov's line numbers back
to resources, and the blocks a stack document lists."""

from __future__ import annotations

import json
from pathlib import Path

from policies.stack_document import key_lines, parse_stack


def test_lines_of_pretty_json_are_the_lines_of_the_keys():
    raw = {"resource": {"digitalocean_vpc": {"v": {"name": "v"}}, "digitalocean_droplet": {"d": {"size": "s"}}}}
    text = json.dumps(raw, indent=2)
    lines = key_lines(text)
    for path in (("resource",), ("resource", "digitalocean_vpc", "v"), ("resource", "digitalocean_droplet", "d")):
        key = f'"{path[-1]}":'
        assert lines[path] == next(n for n, line in enumerate(text.splitlines(), 1) if key in line)


def test_a_value_on_the_next_line_is_found_where_it_starts():
    lines = key_lines('{"resource":\n{"t":\n\n  {"n":\r\n  {}}}}')
    assert (lines[("resource",)], lines[("resource", "t")], lines[("resource", "t", "n")]) == (2, 4, 5)


def test_strings_holding_structure_and_escapes_do_not_confuse_it():
    text = '{"a{,[\\"": {"x": "}]\\\\", "y": [{}, "z", {"k": 1}]},\n "b": [1, -1.5e+10, true, null]}'
    lines = key_lines(text, max_depth=4)
    assert lines[('a{,["', "y", 2, "k")] == 1 and lines[("b",)] == 2 and lines[("b", 3)] == 2
    assert ('a{,["', "y", 1) in lines  # "z" is an element, not a key


def test_each_provider_configuration_is_a_block_on_its_own_line():
    raw = {"provider": {"aws": [{"region": "a"}, {"alias": "west", "region": "b"}]}, "resource": {}}
    doc = parse_stack(json.dumps(raw, indent=2), Path("p.tf.json"))
    assert [(p.address, p.line) for p in doc.providers] == [("provider.aws", 4), ("provider.aws.west", 7)]


def test_a_construct_path_not_in_cdktfs_shape_is_unknown():
    bodies = {"a": {"//": {"metadata": {"path": ["s", "a"]}}}, "b": {"//": {"metadata": {"path": 7}}},
              "c": {"//": "note"}, "d": {"//": {"metadata": {"path": "s/d"}}}}
    doc = parse_stack(json.dumps({"resource": {"digitalocean_vpc": bodies}}), Path("p.tf.json"))
    assert [r.construct_path for r in doc.resources] == ["", "", "", "s/d"]
