"""State module ``lxd_image``: the names and arguments of Salt 3007's ``lxd_image``
states (removed in Salt 3008), as thin adapters over lxdapi's ``image_*`` states: the same
plans, one upload or pull when the image is missing, no write when it is there.

The old ``source`` dicts are read as the old documentation describes them: ``{type:
file, filename}``, ``{type: simplestreams, server, name}``, ``{type: lxd, name,
remote_addr}``; ``{type: url}`` (a download made by the minion) is refused, saying what
to use instead. The docs' migration page lists every difference. Loads by default on Salt
3008 and later; on 3006 and 3007 only with ``lxdapi: {replace_builtin_lxd: True}``.
"""

import salt.version

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007

__virtualname__ = "lxd_image"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return lxdapi_compat_salt3007.virtual(__virtualname__, version, __salt__)


def present(
    name,
    source,
    aliases=None,
    public=None,
    auto_update=None,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Ensure an image with alias ``name`` exists, copied from ``source`` when it does not
    (Salt 3007's ``lxd_image.present``, on :func:`lxdapi.image_present`).

    name
        The image's alias.

    source
        ``{type: file, filename: salt://... or a path}``; ``{type: simplestreams,
        server: URL, name: ALIAS}``; ``{type: lxd, name: ALIAS or fingerprint,
        remote_addr: https://...}`` (the server pulls a public image from there).

    aliases
        More aliases that must point at the image.

    public
        Whether untrusted clients may use it (None: False).

    auto_update
        Whether LXD keeps it up to date from its source (None: False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: yaml

        busybox:
          lxd_image.present:
            - source:
                type: file
                filename: salt://lxd/files/busybox.tar.gz
            - aliases: [bb]
    """
    try:
        source = lxdapi_compat_salt3007.image_source(source)
    except ValueError as exc:
        return lxdapi_compat_salt3007.failed(name, exc)
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.image_present"],
        name,
        (remote_addr, cert, key, verify_cert),
        source=source,
        aliases=aliases,
        public=bool(public),
        auto_update=bool(auto_update),
    )


def absent(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Ensure the image with alias (or fingerprint) ``name`` does not exist (Salt 3007's
    ``lxd_image.absent``, on :func:`lxdapi.image_absent`).

    name
        The image's alias or fingerprint.

    remote_addr, cert, key, verify_cert
        The old connection settings (see :func:`present`).

    CLI Example:

    .. code-block:: yaml

        busybox:
          lxd_image.absent
    """
    return lxdapi_compat_salt3007.adapted(
        __states__["lxdapi.image_absent"],
        name,
        (remote_addr, cert, key, verify_cert),
    )
