"""``lxdapi.*`` states of images and their aliases: present (pulled, imported or
published), absent.

Core: ``_utils/lxdapi_images.py``.
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_images

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def image_present(name, source, public=False, aliases=None, auto_update=False, **connection):
    """
    Ensure the image from ``source`` is on the server with alias ``name``.

    For an image file, present means: the server has an image with the file's sha256
    fingerprint and ``name`` points at it. For a remote image server, present means:
    ``name`` points at an image pulled from that server and alias (or fingerprint). For
    an instance or snapshot to publish, present means: ``name`` points at an image
    published from it (from that very snapshot: one taken again under the same name is
    published again).
    The image is uploaded or pulled when missing; an alias pointing at another image is
    moved (that image is kept). ``public`` and ``auto_update`` are kept as declared.

    name
        The image alias.

    source
        A unified image tarball: a local path or a ``salt://`` URL. Or a remote image
        server mapping: ``server`` (``https://host:port``), ``protocol`` (``lxd`` or
        ``simplestreams``), ``alias`` or ``fingerprint``, and ``certificate`` (the
        server's PEM, for a self-signed LXD server). Or an instance or snapshot of this
        server to publish: ``{type: snapshot, name: web1/golden}`` (``type: instance``
        publishes a stopped instance).

    public
        Whether untrusted clients may use the image (default False).

    aliases
        More aliases that must point at the image.

    auto_update
        Whether LXD keeps the image up to date from its source (default False).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        busybox:
          lxdapi.image_present:
            - source: salt://images/busybox.tar.gz
            - aliases: [bb]

        alpine:
          lxdapi.image_present:
            - source:
                server: https://images.example.net:8443
                protocol: lxd
                alias: alpine/3.19
                certificate: |
                  -----BEGIN CERTIFICATE-----
                  ...

        web-golden:
          lxdapi.image_present:
            - source: {type: snapshot, name: web1/golden}
    """

    def make_plan(api):
        return lxdapi_images.plan_image_present(
            api, name, boundary.fileserver_path(source), public, aliases, auto_update
        )

    def done(plan):
        made = (
            "published"
            if isinstance(source, dict) and source.get("type") in lxdapi_images.PUBLISH_TYPES
            else "imported"
        )
        return "Image {} {}.".format(name, made if boundary.created(plan, "image") else "updated")

    return boundary.converge(name, connection, make_plan, done, f"Image {name} is already present.")


def image_absent(name, **connection):
    """
    Ensure an image is not on the server (its aliases go with it).

    name
        The image's alias or fingerprint (or a unique prefix of one).

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-busybox:
          lxdapi.image_absent
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_absent(api, name),
        f"Image {name} deleted.",
        f"Image {name} is already absent.",
    )


def image_alias_present(name, target, description=None, **connection):
    """
    Ensure image alias ``name`` points at ``target`` (created, or moved from another
    image).

    name
        The alias.

    target
        The image: a fingerprint, a unique prefix of one, or another alias.

    description
        The alias's description; None: not managed.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        stable:
          lxdapi.image_alias_present:
            - target: 39af9b1c57be
            - description: the image in production
    """

    def done(plan):
        return "Image alias {} {}.".format(
            name, "created" if boundary.created(plan, "alias") else "updated"
        )

    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_alias_present(api, name, target, description),
        done,
        f"Image alias {name} is already as declared.",
    )


def image_alias_absent(name, **connection):
    """
    Ensure image alias ``name`` does not exist (the image itself is kept).

    name
        The alias.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-alias:
          lxdapi.image_alias_absent
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_images.plan_image_alias_absent(api, name),
        f"Image alias {name} deleted.",
        f"Image alias {name} is already absent.",
    )
