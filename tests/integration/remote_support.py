"""Shared bits of the remote, cluster and image-server tests (issue 6).

Extra daemons listen on loopback only; every one is stopped (and its folder removed) when
the fixture that started it ends. Imported by ``test_remote_https.py``,
``test_cluster.py`` and ``test_image_server.py`` (pytest puts this folder on
``sys.path``).
"""

import contextlib
import os
import shutil

import lxdhost
from conftest import ROOT, core


class HTTPSServer:
    """A private daemon answering HTTPS on ``address`` (``127.0.0.1:PORT``)."""

    def __init__(self, lxd_dir, address, server_cert):
        self.lxd_dir = lxd_dir
        self.socket = os.path.join(lxd_dir, "unix.socket")
        self.address = address
        self.url = "https://" + address
        self.server_cert = server_cert  # a copy of its certificate, to pin or verify with

    def lxc(self, *args, check=True, stdin=None):
        """Run ``lxc`` against this daemon (its unix socket); return stdout."""
        return lxdhost.lxc(self.lxd_dir, *args, check=check, stdin=stdin)

    def local_api(self):
        """An :class:`API` on its unix socket (always trusted)."""
        return core.API.factory(self.socket)


@contextlib.contextmanager
def https_server(prefix="lxdapi-https-", host="127.0.0.1", server="lxd"):
    """Start a daemon (``server``: ``lxd`` or ``incus``) with ``core.https_address`` on
    ``host`` and a free port; stop it (and remove its folder) on exit."""
    base = lxdhost.make_base_dir(prefix)
    lxd_dir = os.path.join(base, server)
    try:
        address = f"{host}:{lxdhost.free_port(host)}"
        lxdhost.start_https_daemon(lxd_dir, address, server=server)
        server_cert = os.path.join(base, "server.crt")
        with open(server_cert, "w") as fh:
            fh.write(lxdhost.server_certificate(lxd_dir))
        yield HTTPSServer(lxd_dir, address, server_cert)
    finally:
        lxdhost.stop_daemon(lxd_dir)
        shutil.rmtree(base, ignore_errors=True)


def client_pair(folder, name):
    """A fresh client certificate and key under ``folder``: ``(cert path, key path)``."""
    cert, key = os.path.join(folder, name + ".crt"), os.path.join(folder, name + ".key")
    lxdhost.make_client_certificate(cert, key, common_name=name)
    return cert, key


def minion_loaders(salt_factories, minion_id, lxdapi_config, **options):
    """Salt's functional loaders for a minion whose ``lxdapi`` config is
    ``lxdapi_config`` (e.g. with ``remotes``); ``options``: other minion options (an sdb
    profile...)."""
    from saltfactories.utils.functional import Loaders

    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides=dict(
            {"file_client": "local", "module_dirs": [ROOT], "lxdapi": lxdapi_config}, **options
        ),
    )
    return Loaders(factory.config.copy())


def held(api, url, **params):
    """What LXD holds at ``url`` (its metadata), or None when it does not exist."""
    result = core.get_or_none(api, url, params=params or None)
    return None if result is None else result.metadata
