"""A TCP proxy a test can cut and restore, to make a database unreachable while it keeps running.

Cutting closes every open connection and closes new ones as soon as they arrive, the way
a server going away looks to a client.
"""

from __future__ import annotations

import signal
import socket
import threading
import time


class _ThreadedProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        self.connections_accepted = 0
        # The listener stays open for the proxy's whole life (rebinding a port with half-closed
        # connections on it fails); while cut, it closes every connection it accepts at once.
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Close every connection and refuse new ones: clients see the server go away."""
        with self._lock:
            self._cut = True
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                cut = self._cut
            if cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            # Forward small messages at once, as libpq and the servers do: with Nagle's algorithm on,
            # every pipelined exchange would wait for a delayed ACK (40 ms), which no real link adds.
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._cut:
                    client.close()
                    upstream.close()
                    continue
                self._connections += [client, upstream]
                self.connections_accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.cut()
        self._listener.close()


class TcpProxy:
    """The proxy in a process of its own: a test's own threads (and the GIL) never slow it down, as a
    real network device would not be. cut() and restore() are signals to it."""

    def __init__(self, target_host: str, target_port: int):
        import subprocess
        import sys

        self._process = subprocess.Popen([sys.executable, __file__, target_host, str(target_port)],
                                         stdout=subprocess.PIPE, text=True)
        self.port = int(self._process.stdout.readline())

    def cut(self) -> None:
        self._signal(signal.SIGUSR1)

    def restore(self) -> None:
        self._signal(signal.SIGUSR2)

    def _signal(self, signum: int) -> None:
        self._process.send_signal(signum)
        time.sleep(0.2)  # let the proxy act before the test goes on

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


def _serve(host: str, port: int) -> None:
    proxy = _ThreadedProxy(host, port)
    signal.signal(signal.SIGUSR1, lambda *_: proxy.cut())
    signal.signal(signal.SIGUSR2, lambda *_: proxy.restore())
    print(proxy.port, flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    import sys

    _serve(sys.argv[1], int(sys.argv[2]))
