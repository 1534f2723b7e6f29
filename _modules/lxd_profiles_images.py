"""Execution module ``lxd``, profiles and images: Salt 3007's ``lxd`` profile and image
functions as thin adapters over lxdapi's execution module (see ``_modules/lxd.py`` for
what they keep and what they fix; the same virtual name ``lxd``)."""

import os

import salt.version
from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_compat_salt3007 as compat

__virtualname__ = "lxd"


def __virtual__():
    version = salt.version.__saltstack_version__.info
    return compat.virtual(__virtualname__, version, __salt__)


def _on_profile(name, connection, update=None, must_have=None):
    """What the old module's profile item functions share: connect, read profile ``name``
    (SaltInvocationError "Profile 'name' not found", as the old module said), check that
    ``must_have`` (``(field, item)``) is there, then ``lxdapi.profile_update(name,
    **update(profile))`` (one write with If-Match, and none when it is so already).

    Returns the profile's document, read again after a write."""
    conn = compat.adapter_connection(*connection)
    found = __salt__["lxdapi.profile_get"](name, **conn)
    if not found:
        raise SaltInvocationError(f"Profile '{name}' not found")
    if must_have:
        compat.old_item(found.get(must_have[0]), must_have[1])
    if update is not None and __salt__["lxdapi.profile_update"](name, **update(found), **conn):
        found = __salt__["lxdapi.profile_get"](name, **conn)
    return found


def _alias_list(aliases):
    if aliases is None:
        return []
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
        raise SaltInvocationError(f"aliases must be a list of names, not {aliases!r}")
    return list(aliases)


def _image(image, conn):
    """An image's document by alias or fingerprint (the old ``_verify_image``);
    SaltInvocationError in the old module's words when there is none."""
    found = __salt__["lxdapi.image_get"](image, **conn)
    if not found:
        raise SaltInvocationError(f"Image with fingerprint '{image}' not found")
    return found


def _add_alias(found, alias, description, conn):
    """Point ``alias`` at the image ``found`` (its document) as the old module did:
    nothing to do when the image has it; an alias that names another image is refused."""
    if alias in [a.get("name") for a in found.get("aliases") or []]:
        return
    targets = {a["name"]: a["target"] for a in __salt__["lxdapi.image_alias_list"](1, **conn)}
    if alias in targets:
        raise SaltInvocationError(
            f"Alias '{alias}' already points at image {targets[alias]}; delete it first "
            "(lxd.image_alias_delete)"
        )
    __salt__["lxdapi.image_alias_add"](alias, found["fingerprint"], description=description, **conn)


def _pulled(body, aliases, conn):
    """The image the server pulls for ``body`` (``source``, ``public``, ``auto_update``,
    as ``POST /1.0/images`` takes them; :func:`lxdapi.image_pull`: nothing is pulled
    when it has it), with ``aliases`` pointed at it, as the old module's dict."""
    fingerprint = __salt__["lxdapi.image_pull"](
        body["source"], public=body["public"], auto_update=body["auto_update"], **conn
    )
    if not fingerprint:
        raise SaltInvocationError("the server reported no image for {}".format(body["source"]))
    return _with_aliases(fingerprint, aliases, conn)


def _with_aliases(fingerprint, aliases, conn):
    """Point ``aliases`` at image ``fingerprint``; return it, read then, as the old dict."""
    found = _image(fingerprint, conn)
    if aliases:
        for alias in aliases:
            _add_alias(found, alias, "", conn)
        found = _image(fingerprint, conn)
    return compat.old_model(found, compat.IMAGE_KEYS)


@boundary.errors
def profile_list(list_names=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The profiles: a list of dicts as the old module gave them, or of names.

    list_names
        Only the names (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_list list_names=True
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    listed = __salt__["lxdapi.profile_list"](recursion=1, **conn)
    if list_names:
        return [p["name"] for p in listed]
    return [compat.old_model(p, compat.PROFILE_KEYS) for p in listed]


@boundary.errors
def profile_create(
    name,
    config=None,
    devices=None,
    description=None,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
):
    """
    Create a profile; returns it.

    name
        The profile's name.

    config
        A dict, or a list of ``{key, value}``.

    devices
        A dict of devices.

    description
        Its description.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_create autostart config="{boot.autostart: 1}"
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    __salt__["lxdapi.profile_create"](
        name,
        config=compat.config_mapping(config),
        devices=devices or {},
        description=description,
        **conn,
    )
    return profile_get(name, remote_addr, cert, key, verify_cert)


@boundary.errors
def profile_get(name, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    A profile, as a dict (SaltInvocationError when it does not exist, as before).

    name
        The profile's name.

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_get default
    """
    return compat.old_model(
        _on_profile(name, (remote_addr, cert, key, verify_cert)),
        compat.PROFILE_KEYS,
    )


@boundary.errors
def profile_delete(name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete a profile (refused while instances use it); True.

    name
        The profile's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_delete autostart
    """
    connection = (remote_addr, cert, key, verify_cert)
    _on_profile(name, connection)
    __salt__["lxdapi.profile_delete"](name, **compat.adapter_connection(*connection))
    return True


@boundary.errors
def profile_config_get(name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One config key of a profile (SaltInvocationError "'KEY' doesn't exists", the old
    words, when it is not set).

    name
        The profile's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_get autostart boot.autostart
    """
    found = _on_profile(name, (remote_addr, cert, key, verify_cert))
    return compat.old_item(found.get("config"), config_key)


@boundary.errors
def profile_config_set(
    name, config_key, config_value, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Set one config key of a profile (one PATCH with If-Match, none when it has that
    value); returns the profile, as the old module did.

    name
        The profile's name.

    config_key
        The key.

    config_value
        Its value (stored as a string: ``True`` is ``"true"``).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_set autostart boot.autostart 0
    """
    found = _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"config": {config_key: config_value}},
    )
    return compat.old_model(found, compat.PROFILE_KEYS)


@boundary.errors
def profile_config_delete(
    name, config_key, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Unset one config key of a profile (one PATCH with If-Match); True
    (SaltInvocationError "'KEY' doesn't exists", the old words, when it is not set).

    name
        The profile's name.

    config_key
        The key.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_config_delete autostart boot.autostart.delay
    """
    _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"config": {config_key: ""}},  # LXD removes a key set to ""
        must_have=("config", config_key),
    )
    return True


@boundary.errors
def profile_device_get(name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    One device of a profile, as a dict (SaltInvocationError "'NAME' doesn't exists", the
    old words, when it has none of that name).

    name
        The profile's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_get default eth0
    """
    found = _on_profile(name, (remote_addr, cert, key, verify_cert))
    return compat.old_item(found.get("devices"), device_name)


@boundary.errors
def profile_device_set(
    name,
    device_name,
    device_type="disk",
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    **kwargs,
):
    """
    Add (or replace) one device of a profile (one PATCH with If-Match, none when it is so
    already); returns the profile, as the old module did.

    name
        The profile's name.

    device_name
        The device's name.

    device_type
        Its type (default ``disk``: which needs ``path``, and ``source`` unless the path
        is ``/``).

    kwargs
        The device's other keys (``nictype=bridged parent=lxdbr0``...).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_set autostart eth1 nic nictype=bridged parent=lxdbr0
    """
    device = compat.old_device(device_type, kwargs)
    found = _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {"devices": {device_name: device}},
    )
    return compat.old_model(found, compat.PROFILE_KEYS)


@boundary.errors
def profile_device_delete(
    name, device_name, remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Remove one device of a profile (a PUT with If-Match); True (SaltInvocationError
    "'NAME' doesn't exists", the old words, when it has none of that name).

    name
        The profile's name.

    device_name
        The device's name.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.profile_device_delete autostart eth1
    """
    _on_profile(
        name,
        (remote_addr, cert, key, verify_cert),
        update=lambda profile: {
            "devices": {k: v for k, v in profile["devices"].items() if k != device_name},
            "purge_devices": True,
        },
        must_have=("devices", device_name),
    )
    return True


@boundary.errors
def image_list(list_aliases=False, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    The images: a list of dicts as the old module gave them, or (``list_aliases``)
    ``{fingerprint: [alias names]}``.

    list_aliases
        Only the aliases (default False).

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_list list_aliases=True
    """
    listed = __salt__["lxdapi.image_list"](
        recursion=1,
        **compat.adapter_connection(remote_addr, cert, key, verify_cert),
    )
    if list_aliases:
        return {
            image["fingerprint"]: [a["name"] for a in image.get("aliases") or []]
            for image in listed
        }
    return [compat.old_model(image, compat.IMAGE_KEYS) for image in listed]


@boundary.errors
def image_get(fingerprint, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    An image by fingerprint, as a dict (SaltInvocationError when there is none, as before).

    fingerprint
        The image's fingerprint (or a unique prefix).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_get 8a9b...
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    return compat.old_model(_image(fingerprint, conn), compat.IMAGE_KEYS)


@boundary.errors
def image_get_by_alias(alias, remote_addr=None, cert=None, key=None, verify_cert=True, _raw=False):
    """
    An image by alias, as a dict (SaltInvocationError when there is none, as before).

    alias
        The image's alias.

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_get_by_alias busybox
    """
    image = __salt__["lxdapi.image_get"](
        alias, **compat.adapter_connection(remote_addr, cert, key, verify_cert)
    )
    if not image:
        raise SaltInvocationError(f"Image with alias '{alias}' not found")
    return compat.old_model(image, compat.IMAGE_KEYS)


@boundary.errors
def image_delete(image, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete an image by alias or fingerprint; True.

    image
        The image's alias or fingerprint.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_delete busybox
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    if not __salt__["lxdapi.image_get"](image, **conn):
        raise SaltInvocationError(f"Image '{image}' not found")
    __salt__["lxdapi.image_delete"](image, **conn)
    return True


@boundary.errors
def image_from_simplestreams(
    server,
    alias,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    auto_update=False,
    _raw=False,
):
    """
    Have the server pull an image from a simple streams server; returns the image, as
    the old module did. Nothing is pulled when the server has an image it pulled from
    there for that alias already (``auto_update`` keeps one up to date): then only its
    ``public`` and ``auto_update`` are set where they differ.

    server
        The simple streams server's URL (``https://images.linuxcontainers.org``).

    alias
        The image's alias there (``debian/12``).

    aliases
        Aliases to point at the image here (a list; one that points at another image is
        an error).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server keep the image up to date from there (default False).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_simplestreams https://cloud-images.ubuntu.com/releases \
            trusty/amd64 aliases='["t", "trusty/amd64"]' auto_update=True
    """
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise SaltInvocationError(f"server must be a simple streams URL, not {server!r}")
    if not isinstance(alias, str) or not alias:
        raise SaltInvocationError(f"alias must be the image's alias there, not {alias!r}")
    source = {
        "type": "image",
        "mode": "pull",
        "server": server,
        "protocol": "simplestreams",
        "alias": alias,
    }
    body = {
        "public": compat.old_flag(public, "public"),
        "auto_update": compat.old_flag(auto_update, "auto_update"),
        "source": source,
    }
    aliases = _alias_list(aliases)
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    return _pulled(body, aliases, conn)


@boundary.errors
def image_from_url(
    url,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    auto_update=False,
    _raw=False,
):
    """
    Have the server download an image from a URL itself (LXD's ``url`` source: the URL
    answers with the image's ``LXD-Image-URL`` and ``LXD-Image-Hash`` headers, Incus's
    with ``Incus-Image-*``); returns the image, as the old module did. The minion asks
    the URL for the hash first (a HEAD): nothing is pulled when the server has that
    image already; then only its ``public`` and ``auto_update`` are set where they
    differ.

    url
        The URL.

    aliases
        Aliases to point at the image (a list; one that points at another image is an
        error).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server keep the image up to date from there (default False).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_url https://dl.stgraber.org/lxd aliases='["busybox-amd64"]'
    """
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise SaltInvocationError(f"url must be an http(s):// URL, not {url!r}")
    body = {
        "public": compat.old_flag(public, "public"),
        "auto_update": compat.old_flag(auto_update, "auto_update"),
        "source": {"type": "url", "mode": "pull", "url": url},
    }
    aliases = _alias_list(aliases)
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    return _pulled(body, aliases, conn)


@boundary.errors
def image_from_file(
    filename,
    remote_addr=None,
    cert=None,
    key=None,
    verify_cert=True,
    aliases=None,
    public=False,
    saltenv="base",
    _raw=False,
):
    """
    Upload a unified image tarball unless the server has it (by its fingerprint); returns
    the image, as the old module did.

    filename
        A ``salt://`` URL or a local path.

    aliases
        Aliases to point at the image (a list; one that points at another image is an
        error).

    public
        Let untrusted clients use the image (default False; True makes an existing
        image public too).

    saltenv
        The fileserver environment of a ``salt://`` ``filename`` (default ``base``).

    _raw
        Accepted for the old signature; ignored.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_from_file salt://lxd/files/busybox.tar.xz aliases=["busybox-amd64"]
    """
    aliases = _alias_list(aliases)
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    path = os.path.expanduser(str(filename))
    if not os.path.isabs(path):  # a salt:// (or other) URL
        path = __salt__["cp.cache_file"](path, saltenv=saltenv)
    if not path or not os.path.isfile(path):
        raise SaltInvocationError(f"File '{filename}' not found")
    fingerprint = __salt__["lxdapi.image_import"](
        path, public=compat.old_flag(public, "public"), **conn
    )
    return _with_aliases(fingerprint, aliases, conn)


@boundary.errors
def image_copy_lxd(
    source,
    src_remote_addr,
    src_cert,
    src_key,
    src_verify_cert,
    remote_addr,
    cert,
    key,
    verify_cert=True,
    aliases=None,
    public=None,
    auto_update=None,
    _raw=False,
):
    """
    Copy an image from another LXD: the destination pulls it from ``src_remote_addr``
    (with a one-time secret the source makes for a private image, as pylxd did, and the
    source's certificate); returns the destination's image, as the old module did.
    Nothing is pulled when the destination has the image already: then only its
    ``public`` and ``auto_update`` are set where they differ (nothing is sent when they
    do not).

    source
        The image's alias or fingerprint on the source.

    src_remote_addr
        The source's ``https://`` URL (the destination connects to it).

    src_cert
        The client certificate for the source (a path).

    src_key
        Its key (a path).

    src_verify_cert
        Check the source's certificate.

    remote_addr
        The destination: an ``https://`` URL or a socket path.

    cert
        The client certificate for the destination (a path; none for a socket).

    key
        Its key (a path).

    verify_cert
        Check the destination's certificate (default True).

    aliases
        Aliases to point at the image on the destination (a list).

    public
        Let untrusted clients use it there (None: as on the source).

    auto_update
        Keep it up to date from the source (None: as on the source).

    _raw
        Accepted for the old signature; ignored.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_copy_lxd xenial/amd64 \
            https://srv01:8443 ~/.config/lxc/client.crt ~/.config/lxc/client.key false \
            https://srv02:8443 ~/.config/lxc/client.crt ~/.config/lxc/client.key false \
            aliases="['xenial/amd64']"
    """
    aliases = _alias_list(aliases)
    if not str(src_remote_addr).startswith("https://"):
        raise SaltInvocationError(
            "src_remote_addr must be the source's https:// URL (the destination pulls "
            f"the image from there), not {src_remote_addr!r}"
        )
    src_conn = compat.adapter_connection(src_remote_addr, src_cert, src_key, src_verify_cert)
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    found = _image(source, src_conn)
    fingerprint = found["fingerprint"]
    public = bool(found.get("public")) if public is None else compat.old_flag(public, "public")
    auto_update = (
        bool(found.get("auto_update"))
        if auto_update is None
        else compat.old_flag(auto_update, "auto_update")
    )
    body = {"public": public, "auto_update": auto_update}  # properties come with the image
    pull = {
        "server": src_remote_addr.rstrip("/"),
        "protocol": "incus" if __salt__["lxdapi.info"](**conn)["server"] == "incus" else "lxd",
        "fingerprint": fingerprint,
    }
    if not __salt__["lxdapi.image_get"](fingerprint, **conn):  # to be pulled: its access
        certificate = (__salt__["lxdapi.get"]("", **src_conn).get("environment") or {}).get(
            "certificate"
        )
        if certificate:
            pull["certificate"] = certificate
        if not found.get("public"):
            token = __salt__["lxdapi.post"](
                f"images/{fingerprint}/secret", {}, wait=False, **src_conn
            )
            pull["secret"] = (token.get("metadata") or {}).get("secret")
    body["source"] = pull
    return _pulled(body, aliases, conn)


@boundary.errors
def image_alias_add(
    image, alias, description="", remote_addr=None, cert=None, key=None, verify_cert=True
):
    """
    Point a new alias at an image; True. Nothing is written when the image has that
    alias already; an alias that points at another image is an error.

    image
        The image's alias or fingerprint.

    alias
        The new alias.

    description
        The alias's description.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_alias_add xenial/amd64 x "Short version of xenial/amd64"
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    _add_alias(_image(image, conn), alias, description, conn)
    return True


@boundary.errors
def image_alias_delete(image, alias, remote_addr=None, cert=None, key=None, verify_cert=True):
    """
    Delete an alias (whichever image it points at, as before); True, or False when there
    is no such alias (nothing is sent then).

    image
        An alias or fingerprint of an image that must exist (the old check).

    alias
        The alias to delete.

    remote_addr, cert, key, verify_cert
        The old connection: an ``https://`` URL (with ``cert`` and ``key``) or a socket
        path; ``verify_cert`` (default True) checks the server's certificate.

    CLI Example:

    .. code-block:: bash

        salt '*' lxd.image_alias_delete xenial/amd64 x
    """
    conn = compat.adapter_connection(remote_addr, cert, key, verify_cert)
    _image(image, conn)
    if alias not in __salt__["lxdapi.image_alias_list"](**conn):
        return False
    return __salt__["lxdapi.image_alias_delete"](alias, **conn)
