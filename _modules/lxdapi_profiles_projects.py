"""``lxdapi.*`` execution functions of profiles and projects: get, list, create, update,
delete.

Core: the generic reconcile of resource kinds, ``_utils/lxdapi_reconcile.py``.
Connection settings as in every ``lxdapi`` function (see ``_modules/lxdapi.py``).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_reconcile

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


@boundary.errors
def profile_get(name, **connection):
    """
    Return a profile as LXD holds it (config, devices, description, used_by), or False
    when it does not exist.

    name
        The profile's name.

    connection
        Connection settings (``remote``, ``endpoint``, ``project``...): ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_get default
        salt '*' lxdapi.profile_get web project=staging
    """
    return boundary.resource_get("profile", name, connection)


@boundary.errors
def profile_list(recursion=0, **connection):
    """
    List the profiles: their names, or with ``recursion=1`` their full objects.

    recursion
        True to return every profile as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_list
        salt '*' lxdapi.profile_list recursion=1
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "profile", recursion=recursion
    )


@boundary.errors
def profile_create(name, config=None, devices=None, description=None, **connection):
    """
    Create a profile; return it as LXD then holds it. Fails if it exists already.

    name
        The profile's name.

    config
        A mapping of config keys (``limits.cpu``, ``user.*``, ...); values are stored
        as strings.

    devices
        A mapping of device name to device (each a mapping with a ``type``).

    description
        The profile's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_create web config='{"limits.cpu": 2}' description="web servers"
    """
    declared = {"config": config, "devices": devices, "description": description}
    return lxdapi_reconcile.resource_create(boundary.connect(connection), "profile", name, declared)


@boundary.errors
def profile_update(
    name,
    config=None,
    devices=None,
    description=None,
    purge_config=False,
    purge_devices=False,
    **connection,
):
    """
    Bring an existing profile to the given fields (a PATCH with If-Match, only when
    something differs); return the changes as ``{field: {old, new}}`` (empty: nothing
    to do). Fields left None are not touched.

    name
        The profile's name.

    config
        Config keys to set; keys not given are kept unless ``purge_config``.

    devices
        Devices to set; devices not given are kept unless ``purge_devices``.

    description
        The new description.

    purge_config
        Remove config keys that are not in ``config`` (default False).

    purge_devices
        Remove devices that are not in ``devices`` (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_update web config='{"limits.cpu": 4}'
        salt '*' lxdapi.profile_update web devices='{}' purge_devices=True
    """
    declared = {"config": config, "devices": devices, "description": description}
    return boundary.resource_update(
        "profile", name, declared, connection, purge_config, purge_devices
    )


@boundary.errors
def profile_delete(name, **connection):
    """
    Delete a profile. Returns True if it was deleted, False if it did not exist; fails,
    naming them, when instances still use it.

    name
        The profile's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.profile_delete web
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "profile", name)


@boundary.errors
def project_get(name, **connection):
    """
    Return a project as LXD holds it (config with its ``features.*``, used_by), or
    False when it does not exist.

    name
        The project's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_get staging
    """
    return boundary.resource_get("project", name, connection)


@boundary.errors
def project_list(recursion=0, **connection):
    """
    List the projects: names, or with ``recursion=1`` full objects.

    recursion
        True to return every project as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "project", recursion=recursion
    )


@boundary.errors
def project_create(name, config=None, description=None, **connection):
    """
    Create a project; return it as LXD then holds it. Fails if it exists.

    name
        The project's name.

    config
        A mapping of config keys (``features.images``, ``limits.instances``...); LXD
        fills in the ``features.*`` not given.

    description
        The project's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_create staging config='{"limits.instances": 10}'
    """
    declared = {"config": config, "description": description}
    return lxdapi_reconcile.resource_create(boundary.connect(connection), "project", name, declared)


@boundary.errors
def project_update(name, config=None, description=None, purge_config=False, **connection):
    """
    Bring an existing project to the given config keys and description; return the
    changes. Keys not given are kept (the whole config is written back with If-Match:
    LXD 5.0 would otherwise drop them).

    name
        The project's name.

    config
        Config keys to set.

    description
        The new description.

    purge_config
        Remove the config keys that are not given (default False).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_update staging config='{"limits.instances": 20}'
    """
    declared = {"config": config, "description": description}
    return boundary.resource_update("project", name, declared, connection, purge_config)


@boundary.errors
def project_delete(name, **connection):
    """
    Delete a project. Returns True if deleted, False if it did not exist; fails, naming
    them, while it holds anything besides its own default profile.

    name
        The project's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.project_delete staging
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "project", name)
