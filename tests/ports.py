"""A free loopback port, with no Django import, so tools outside pytest (``scripts/demo_chain.py``, through
``tests/chain/anvil.py``) can use it too."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
