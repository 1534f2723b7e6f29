"""``lxdapi.*`` states of profiles and projects: present as declared, absent.

Core: the generic reconcile of resource kinds, ``_utils/lxdapi_reconcile.py``, through
the boundary's ``present`` and ``absent``.
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())


__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def profile_present(
    name,
    config=None,
    devices=None,
    description=None,
    purge_config=False,
    purge_devices=False,
    **connection,
):
    """
    Ensure a profile exists with the declared config keys, devices and description.

    Config keys and devices not declared are left alone unless ``purge_config`` /
    ``purge_devices``; values are compared as LXD stores them (strings). Changes are
    written with If-Match.

    name
        The profile's name.

    config
        A mapping of config keys; None: not managed.

    devices
        A mapping of device name to device (each with a ``type``); None: not managed.

    description
        The description; None: not managed.

    purge_config
        Remove config keys that are not declared (default False).

    purge_devices
        Remove devices that are not declared (default False).

    connection
        ``project`` and the other connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        web:
          lxdapi.profile_present:
            - config:
                limits.cpu: 2
            - devices:
                data:
                  type: disk
                  pool: default
                  source: data1
                  path: /srv
    """
    declared = {"config": config, "devices": devices, "description": description}
    return boundary.present("profile", name, declared, connection, purge_config, purge_devices)


def profile_absent(name, **connection):
    """
    Ensure a profile does not exist. Refuses (result False, naming them) while
    instances use it.

    name
        The profile's name.

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        old-profile:
          lxdapi.profile_absent
    """
    return boundary.absent("profile", name, connection)


def project_present(name, config=None, description=None, purge_config=False, **connection):
    """
    Ensure a project exists with the declared config keys and description.

    Keys not declared (LXD's ``features.*`` among them) are kept: the whole config is
    written back with If-Match, since LXD 5.0 replaces a project's config on PATCH.

    name
        The project's name.

    config
        A mapping of config keys (``features.images``, ``limits.instances``...); None:
        not managed.

    description
        The description; None: not managed.

    purge_config
        Remove the config keys that are not declared (default False). Keys LXD sets
        itself go too unless declared (a network's generated addresses, for one).

    connection
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_present:
            - config:
                limits.instances: 10
    """
    declared = {"config": config, "description": description}
    return boundary.present("project", name, declared, connection, purge_config)


def project_absent(name, **connection):
    """
    Ensure a project does not exist. Refuses (result False, naming them) while it
    holds anything besides its own default profile.

    name
        The project's name.

    connection
        Connection settings.

    CLI Example:

    .. code-block:: yaml

        staging:
          lxdapi.project_absent
    """
    return boundary.absent("project", name, connection)
