"""`runner-identity sandbox serve` given options it cannot use: one line naming the option and its
rule, exit 2 before anything listens (or exit 1 when the port is taken), never an internal error."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Cli

OPTIONS = {  # option: the values it may take
    "--port": (0, 65535),
    "--latency-ms": (0, None),
    "--lro-polls": (0, None),
    "--retry-after": (0, None),
    "--replication-delay": (0, None),
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(sorted(OPTIONS)), data=st.data())
def test_a_serve_option_out_of_its_range_is_refused_by_name(cli: Cli, option: str, data: st.DataObject) -> None:
    low, high = OPTIONS[option]
    value = data.draw(
        st.integers(max_value=low - 1) | (st.integers(min_value=high + 1) if high is not None else st.nothing())
    )

    ran = cli("sandbox", "serve", option, str(value), timeout=30)  # a sandbox that starts would serve on

    assert ran.code == 2, ran.err
    assert ran.out == ""
    assert option in ran.err and "Traceback" not in ran.err and "internal error" not in ran.err


def test_a_port_in_use_is_one_line_and_exit_1(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = cli("sandbox", "serve", "--port", str(port), timeout=60)

    assert ran.code == 1, ran.text
    assert ran.out == ""
    assert ran.err == f"runner-identity sandbox: cannot listen on 127.0.0.1:{port}: Address already in use\n"
