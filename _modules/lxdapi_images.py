"""``lxdapi.*`` execution functions of images and their aliases: read, import from a file,
pull from an image server, publish from an instance, refresh, export, delete.

Core: ``_utils/lxdapi_images.py``. Connection settings as in every ``lxdapi`` function
(see ``_modules/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_images

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def image_get(image, **connection):
    """
    Return an image's metadata, by alias or fingerprint (or a unique prefix); False.

    image
        An alias (tried first) or a fingerprint.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_get busybox
        salt '*' lxdapi.image_get 9262df4baa2c
    """
    result = lxdapi_images.image_resolve(boundary.connect(connection), image)
    return result.metadata if result else False


@boundary.errors
def image_list(recursion=0, **connection):
    """
    List the images: their fingerprints, or LXD's objects with ``recursion``.

    recursion
        0 (default): fingerprints; 1: each image's metadata.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_list
    """
    return lxdapi_images.image_list(boundary.connect(connection), recursion)


@boundary.errors
def image_import(source, alias=None, public=False, **connection):
    """
    Upload a unified image tarball unless the server has it; return its fingerprint.

    Running it again uploads nothing.

    source
        A ``salt://`` URL (fetched from the fileserver) or a local path.

    alias
        An alias to point at the image (moved if it points at another one).

    public
        Let untrusted clients pull the image (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_import salt://images/busybox.tar.gz alias=busybox
        salt '*' lxdapi.image_import /srv/images/debian.tar.gz
    """
    return lxdapi_images.image_import(
        boundary.connect(connection), boundary.local_source(source), alias=alias, public=public
    )


@boundary.errors
def image_pull(source, public=False, auto_update=False, **connection):
    """
    Have the server pull an image unless it has it; return its fingerprint. Running it
    again pulls nothing (only ``public`` and ``auto_update`` are brought to these, with
    one PATCH with If-Match, where they differ). For an alias pointing at it, use the
    ``image_present`` state, or ``image_alias_add``.

    source
        Where from: an image server (``server``: ``https://host:port``, ``protocol``:
        ``lxd``, ``incus`` or ``simplestreams``, ``alias`` or ``fingerprint``,
        ``certificate`` for a self-signed server, ``secret`` for a private image), or
        ``{type: url, url: ...}``: a URL that answers with the image's
        ``LXD-Image-URL``/``LXD-Image-Hash`` headers (the server downloads it).

    public
        Let untrusted clients use the image (default False).

    auto_update
        Let the server refresh it from its source (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_pull '{"server": "https://images.example.net", \
            "protocol": "simplestreams", "alias": "debian/12"}'
    """
    return lxdapi_images.image_pull(boundary.connect(connection), source, public, auto_update)


@boundary.errors
def image_publish(name, snapshot=None, alias=None, public=False, properties=None, **connection):
    """
    Publish an instance or one of its snapshots as a new image; return its fingerprint.

    LXD publishes a stopped instance only; a snapshot can be published at any time. The
    image's properties record what it was made from (``lxdapi.published_from``), which
    ``image_present`` with a publish source compares.

    name
        The instance's name.

    snapshot
        The snapshot to publish instead of the instance itself.

    alias
        An alias to point at the new image (moved if it points at another one).

    public
        Let untrusted clients pull the image (default False).

    properties
        More image properties, a mapping (``{"os": "busybox"}``).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_publish web1 snapshot=golden alias=web-golden
    """
    return lxdapi_images.image_publish(
        boundary.connect(connection),
        name,
        snapshot=snapshot,
        alias=alias,
        public=public,
        properties=properties,
    )


@boundary.errors
def image_delete(image, **connection):
    """
    Delete an image, by alias or fingerprint; True, or False when absent.

    Deleting by alias deletes the image the alias points at (and its aliases).

    image
        An alias or a fingerprint.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_delete 9262df4baa2c
    """
    return lxdapi_images.image_delete(boundary.connect(connection), image)


@boundary.errors
def image_alias_list(recursion=0, **connection):
    """
    List the image aliases: names, or ``{name, target, description, type}`` with
    ``recursion``.

    recursion
        0 (default): names; 1: each alias's metadata.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_list recursion=1
    """
    return lxdapi_images.image_alias_list(boundary.connect(connection), recursion)


@boundary.errors
def image_alias_add(alias, image, description=None, move=False, **connection):
    """
    Point an alias at an image; True if it wrote, False if it already pointed there.

    An alias that points at another image is an error unless ``move``.

    alias
        The alias name.

    image
        The image: a fingerprint (or a unique prefix) or another alias.

    description
        The alias's description.

    move
        Move an alias that points at another image (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_add stable 9262df4baa2c
        salt '*' lxdapi.image_alias_add stable busybox move=True
    """
    return lxdapi_images.image_alias_add(
        boundary.connect(connection), alias, image, description=description, move=move
    )


@boundary.errors
def image_alias_delete(alias, **connection):
    """
    Delete an image alias (the image stays); True, or False when absent.

    alias
        The alias name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_alias_delete stable
    """
    return lxdapi_images.image_alias_delete(boundary.connect(connection), alias)


@boundary.errors
def image_refresh(image, **connection):
    """
    Look for a newer version of an image at the image server it was pulled from, and
    replace it with that one (its aliases move to the new image); return
    ``{"refreshed", "old", "new"}``: whether it was replaced, and the fingerprints
    before and after (the same when it was not).

    An image with no update source (imported from a file, published from an instance)
    is an error: there is nothing to refresh it from.

    image
        An alias (tried first) or a fingerprint (or a unique prefix).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_refresh debian-12
    """
    return lxdapi_images.image_refresh(boundary.connect(connection), image)


@boundary.errors
def image_export(image, dest, rootfs_dest=None, **connection):
    """
    Download an image to a local file of the minion; return ``{fingerprint, split,
    dest, size, sha256}`` (and ``rootfs_dest``, ``rootfs_size`` for a split image).

    Streamed to a temporary file beside ``dest`` (mode 0600), renamed to ``dest`` once
    complete and its sha256 checked against the image's fingerprint: ``dest`` never
    holds half an image.

    image
        An alias (tried first) or a fingerprint (or a unique prefix).

    dest
        The file to write, an absolute path in an existing folder (replaced if it
        exists). For a split image: its metadata tarball.

    rootfs_dest
        For a split image (a metadata tarball and a root file system, as images of
        image servers often are): the file for its root file system. A split image
        without it is an error, and nothing is written.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.image_export busybox /srv/images/busybox.tar.gz
        salt '*' lxdapi.image_export debian /srv/debian.tar.xz rootfs_dest=/srv/debian.squashfs
    """
    return lxdapi_images.image_export(
        boundary.connect(connection), image, dest, rootfs_dest=rootfs_dest
    )
