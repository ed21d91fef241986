"""Run many fake WMI hosts in one process: `python -m tests.remote.fakes.farm COUNT [SCENARIO]`.

Prints the listening ports (one line, space separated) and serves until its stdin closes; benchmarks
start it as a separate process so the fakes do not share the prober's interpreter lock. One thread
serves every listener and connection (a selector loop): a thread per connection would cost the farm
more CPU than the answers themselves.
"""

from __future__ import annotations

import selectors
import sys
import threading

from tests.remote.fakes.msrpc import FakeRpcServer, Scenario, _Connection

SCENARIOS = {
    "healthy": Scenario(reuse_replies=True),
    "activation_denied": Scenario(activation_error=0x80070005, reuse_replies=True),
    "invalid_class": Scenario(query_error=0x80041010, reuse_replies=True),
    "bind_refused": Scenario(bind_nak=0),
}


def serve(servers: list[FakeRpcServer], stop: threading.Event) -> None:
    """Accept on every listener and answer every PDU from one thread until `stop` is set."""
    selector = selectors.DefaultSelector()
    for server in servers:
        selector.register(server.listener, selectors.EVENT_READ, server)
    buffers: dict[object, bytearray] = {}
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.2):
            if isinstance(key.data, FakeRpcServer):
                sock, _ = key.fileobj.accept()  # type: ignore[union-attr]
                connection = _Connection(key.data, sock)
                buffers[connection] = bytearray()
                selector.register(sock, selectors.EVENT_READ, connection)
                continue
            connection = key.data
            try:
                chunk = connection.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(connection.sock)
                connection.sock.close()
                del buffers[connection]
                continue
            buffer = buffers[connection]
            buffer += chunk
            while len(buffer) >= 16 and len(buffer) >= (size := int.from_bytes(buffer[8:10], "little")):
                pdu = bytes(buffer[:size])
                del buffer[:size]
                try:
                    connection.dispatch(pdu)
                except OSError:
                    break


def main(argv: list[str]) -> None:
    count = int(argv[0])
    names = argv[1].split(",") if len(argv) > 1 else ["healthy"]
    servers = [FakeRpcServer(SCENARIOS[names[i % len(names)]]) for i in range(count)]
    stop = threading.Event()
    loop = threading.Thread(target=serve, args=(servers, stop), name="farm")
    loop.start()
    print(" ".join(str(s.port) for s in servers), flush=True)
    sys.stdin.read()
    stop.set()
    loop.join()
    for server in servers:
        server.close()


if __name__ == "__main__":
    main(sys.argv[1:])
