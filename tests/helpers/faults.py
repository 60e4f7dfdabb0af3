"""Outages for fault tests: a TCP proxy that can refuse every connection, and an S3 server that can refuse writes."""
from __future__ import annotations

import socket
import threading
from contextlib import suppress


class TCPProxy:
    """Forwards 127.0.0.1:``port`` to a target; ``refuse()`` drops every connection and refuses new ones.

    A refusal is what a client sees when the far side is down: connections reset, then
    "connection refused" until ``restore()`` listens on the same port again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen()

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # refused: the listener is closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)

    def refuse(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets = list(self._open)
        if listener is not None:
            # close() alone leaves a socket that another thread is accepting on listening.
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        with self._lock:
            if self._listener is None:
                self._listen()

    def close(self) -> None:
        self.refuse()


def refusing_moto_server():
    """A moto S3 server on 127.0.0.1 whose ``refuse_writes`` flag makes every PUT/POST answer 503 SlowDown.

    Reads still work, and the buckets survive (a restarted moto forgets them).
    """
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    class RefusingMotoServer(ThreadedMotoServer):
        refuse_writes = False
        refused = 0

        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def gate(environ, start_response):
                if self.refuse_writes and environ["REQUEST_METHOD"] in ("PUT", "POST"):
                    type(self).refused += 1
                    start_response("503 Slow Down", [("Content-Type", "application/xml")])
                    return [b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                            b"<Message>Please reduce your request rate.</Message></Error>"]
                return app(environ, start_response)

            self._server = make_server(self._ip_address, self._port, gate, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return RefusingMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
