"""A unix socket that forwards to LXD's (or Incus's) and counts the HTTP requests that
pass: what the benchmarks and the tests that count requests of a Salt process (which the
core's own observers cannot see) read.

Usage::

    proxy = CountingProxy("/tmp/count.socket", "/var/lib/lxd/unix.socket")
    ...  # point the client at /tmp/count.socket
    proxy.writes()   # [(method, target), ...] of everything but GET
    proxy.close()
"""

import os
import socket
import threading


class CountingProxy:
    """A unix socket that forwards every byte to LXD's and counts the HTTP requests.

    Each client connection gets its own connection to LXD; the client-to-server stream
    is parsed just enough (request line, headers, Content-Length body) to count requests.
    """

    def __init__(self, path, target):
        self.path = path
        self.target = target
        self.requests = []
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        os.chmod(path, 0o660)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        """Forget the requests counted so far."""
        with self.lock:
            self.requests = []

    def writes(self):
        """The requests counted that are not GETs: ``[(method, target)]``."""
        with self.lock:
            return [(m, t) for m, t in self.requests if m != "GET"]

    def close(self):
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(src, dst)

    def _requests(self, client, upstream):
        buf, body_left = b"", 0
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                upstream.sendall(data)
                buf += data
                while True:
                    if body_left:
                        used = min(body_left, len(buf))
                        buf, body_left = buf[used:], body_left - used
                        if body_left:
                            break
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head, buf = buf[:end].decode("latin-1"), buf[end + 4 :]
                    lines = head.split("\r\n")
                    method, target = lines[0].split(" ")[:2]
                    with self.lock:
                        self.requests.append((method, target))
                    for line in lines[1:]:
                        key, _, value = line.partition(":")
                        if key.strip().lower() == "content-length":
                            body_left = int(value.strip())
        except OSError:
            pass
        finally:
            _shutdown(client, upstream)


def _shutdown(*socks):
    """Shut both directions of each socket, ignoring one that is already closed."""
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
