"""The stand-in az reads a command line as az does (see standin_az.py for where each rule comes from)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.export.standin_az import AzError, expand_file_arguments, output, parser, split_command


def parse(argv: list[str]) -> tuple[tuple[str, ...], argparse.Namespace]:
    command, rest = split_command(expand_file_arguments(argv))
    return command, parser(command).parse_args(rest)


def test_file_arguments_are_read_whole_after_the_first_equals_sign(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"a": "--name x\\n@y"}\n\n')
    for argv in (["rest", "--body", f"@{body}", "--url=/x"], ["rest", f"--body=@{body}", "--url=/x"]):
        assert parse(argv)[1].body == '{"a": "--name x\\n@y"}'  # trailing line breaks dropped
    assert expand_file_arguments([f"a=@{body}"]) == ['a={"a": "--name x\\n@y"}']
    assert expand_file_arguments([f"x@{body}", "@", "@/no/such/file"]) == [f"x@{body}", "@", "@/no/such/file"]


def test_a_value_starting_with_a_dash_is_read_as_an_option() -> None:
    with pytest.raises(AzError) as err:
        parse(["rest", "--url", "-x"])
    assert err.value.code == 2 and "expected one argument" in str(err.value)
    assert parse(["rest", "--url=-x"])[1].url == "-x"  # the --opt=value form carries it


def test_lists_run_to_the_next_option_and_unknown_words_fail() -> None:
    command, ns = parse(["resource", "patch", "--ids", "/a", "/b", "--properties", "{}", "--is-full-object"])
    assert command == ("resource", "patch") and ns.ids == ["/a", "/b"] and ns.is_full_object
    with pytest.raises(AzError) as err:
        parse(["identity", "create", "--name", "x"])
    assert err.value.code == 2
    with pytest.raises(AzError):
        parse(["rest", "--url=/x", "--bogus"])


def test_output_follows_knack() -> None:
    ns = argparse.Namespace(query="properties.[clientId, principalId]", output="tsv")
    assert output({"properties": {"clientId": "c", "principalId": "p"}}, ns) == "c\np\n"
    ns = argparse.Namespace(query="[[a, b]]", output="tsv")
    assert output({"a": "x", "b": True}, ns) == "x\tTrue\n"
    ns = argparse.Namespace(query="a", output="tsv")
    assert output({"a": True}, ns) == "true\n" and output({}, ns) == ""
    ns = argparse.Namespace(query=None, output="json")
    assert output({"b": "é", "a": 1}, ns) == '{\n  "a": 1,\n  "b": "é"\n}\n'
