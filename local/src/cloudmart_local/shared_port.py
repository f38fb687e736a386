"""`python -m cloudmart_local.shared_port PORT PROGRAM ARGS...`: listen on a port that several
processes share, then become PROGRAM (uvicorn) serving it.

The gateway's replicas all listen on 127.0.0.1:5000, where users and tests find the shop: each
binds with SO_REUSEPORT and the kernel spreads incoming connections over them, as the load
balancer in front of the gateway's pods does in the cloud. uvicorn has no option for it, so
this binds the socket and hands it over (`--fd`) through exec: the process supervisord
watches is uvicorn itself.
"""

import os
import socket
import sys


def main() -> None:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        raise SystemExit(__doc__)
    port, program, arguments = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # uvicorn opens an `--fd` socket as AF_UNIX, so asyncio never sets TCP_NODELAY on the
    # connections it accepts: Nagle and delayed ACKs then hold small answers ~40 ms. Linux
    # copies the option from the listener to every accepted connection.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    listener.set_inheritable(True)
    os.execv(program, [program, *arguments, "--fd", str(listener.fileno())])  # noqa: S606


if __name__ == "__main__":
    main()
