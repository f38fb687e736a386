"""`cloudmart flags`: what it writes is a flag file flagd serves, and it refuses what is not."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openfeature.contrib.tools.flagd.core.model.flag import Flag
from typer.testing import CliRunner

from cloudmart_cli.__main__ import app
from cloudmart_cli.flags import DEFAULTS, FlagError, set_flag

runner = CliRunner()


@pytest.fixture
def flag_file(tmp_path: Path) -> Path:
    path = tmp_path / "faults.flagd.json"
    shutil.copy(DEFAULTS, path)
    return path


def _cli(flag_file: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["flags", *args, "--file", str(flag_file)])
    return result.exit_code, result.output


def _flags(flag_file: Path) -> dict[str, dict[str, Any]]:
    flags: dict[str, dict[str, Any]] = json.loads(flag_file.read_text())["flags"]
    for key, spec in flags.items():
        Flag.from_dict(key, dict(spec))  # what flagd's evaluator accepts, or ParseError
    return flags


def _value(flag_file: Path, name: str) -> Any:
    spec = _flags(flag_file)[name]
    return spec["variants"][spec["defaultVariant"]]


def test_the_committed_defaults_switch_every_fault_off(flag_file: Path) -> None:
    flags = _flags(flag_file)
    assert set(flags) == {
        "payment-failure-percent",
        "payment-unreachable",
        "product-catalog-failure",
        "slow-dynamodb-ms",
        "kafka-consumer-stall",
        "notification-channel-down",
    }
    assert all(spec["defaultVariant"] == "off" for spec in flags.values())
    assert all(spec["variants"]["off"] in (0, False) for spec in flags.values())


def test_set_writes_a_typed_value_and_list_shows_it(flag_file: Path) -> None:
    assert _cli(flag_file, "set", "payment-failure-percent", "35")[0] == 0
    assert _cli(flag_file, "set", "payment-unreachable", "on")[0] == 0
    assert _value(flag_file, "payment-failure-percent") == 35
    assert _value(flag_file, "payment-unreachable") is True
    code, output = _cli(flag_file, "list")
    assert code == 0
    lines = {line.split()[0]: line.split()[1] for line in output.splitlines()}
    assert lines["payment-failure-percent"] == "35"
    assert lines["payment-unreachable"] == "true"
    assert lines["slow-dynamodb-ms"] == "0"


def test_setting_the_off_value_selects_the_off_variant(flag_file: Path) -> None:
    _cli(flag_file, "set", "slow-dynamodb-ms", "800")
    _cli(flag_file, "set", "slow-dynamodb-ms", "0")
    _cli(flag_file, "set", "kafka-consumer-stall", "true")
    _cli(flag_file, "set", "kafka-consumer-stall", "off")
    flags = _flags(flag_file)
    assert flags["slow-dynamodb-ms"]["defaultVariant"] == "off"
    assert flags["kafka-consumer-stall"]["defaultVariant"] == "off"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("payment-failure-percent", "101"),
        ("payment-failure-percent", "half"),
        ("slow-dynamodb-ms", "1.5"),
        ("payment-unreachable", "maybe"),
        ("no-such-fault", "on"),
    ],
)
def test_values_that_do_not_fit_are_refused_and_nothing_is_written(
    flag_file: Path, name: str, value: str
) -> None:
    before = flag_file.read_text()
    code, output = _cli(flag_file, "set", name, value)
    assert code == 2
    assert "error:" in output
    assert flag_file.read_text() == before


def test_negative_values_are_refused(flag_file: Path) -> None:
    # On a command line "-1" reads as an option (Typer refuses it too); the function checks.
    with pytest.raises(FlagError):
        set_flag("slow-dynamodb-ms", -1, flag_file)
    assert _value(flag_file, "slow-dynamodb-ms") == 0


def test_reset_puts_the_committed_definitions_back(flag_file: Path) -> None:
    _cli(flag_file, "set", "payment-failure-percent", "80")
    _cli(flag_file, "set", "product-catalog-failure", "on")
    assert _cli(flag_file, "reset", "product-catalog-failure")[0] == 0
    assert _value(flag_file, "product-catalog-failure") is False
    assert _value(flag_file, "payment-failure-percent") == 80
    assert _cli(flag_file, "reset")[0] == 0
    assert _flags(flag_file) == json.loads(DEFAULTS.read_text())["flags"]


def test_without_a_flag_file_it_says_the_stack_is_not_up(tmp_path: Path) -> None:
    code, output = _cli(tmp_path / "missing.json", "list")
    assert code == 2
    assert "make up" in output
