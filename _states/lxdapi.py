"""State module for LXD through its REST API: ``lxdapi.container_present`` in an SLS.

This file: the server's own states (``server_config_present``, ``server_initialized``).
The other families of ``lxdapi.*`` states are files of their own beside it, each with the
virtual name ``lxdapi`` (Salt's loader merges them): ``lxdapi_instances`` (containers
and snapshots, ``mod_watch``), ``lxdapi_aggregate`` (``mod_aggregate``),
``lxdapi_exec_files`` (commands and files inside instances), ``lxdapi_inside`` (Salt
inside instances), ``lxdapi_images``, ``lxdapi_profiles_projects``, ``lxdapi_networks``,
``lxdapi_storage``, ``lxdapi_host`` (warnings), ``lxdapi_trust_cluster`` and
``lxdapi_fleet`` (a fleet as a whole: ``instances_pruned``, ``images_pruned``). Backups
kept in a local folder by a retention policy: ``lxdapi_backups`` (``backup_exported``).

Thin: every state asks the core (``_utils/lxdapi*.py``) for a :class:`Plan` (the changes
and the writes that make them), then the Salt boundary's ``converge``
(``_utils/lxdapi_salt.py``) turns it into the one ret shape:

- nothing to do: ``result: True``, no changes, and no write sent;
- ``test=True``: ``result: None``, the changes a real run would make, nothing written;
- otherwise the writes are sent (with If-Match where the plan read an ETag) and the
  changes reported as ``{old, new}`` per key;
- a refused write or failed operation: ``result: False`` and LXD's error in the comment.

Connection settings are the execution module's (``remote``, ``endpoint``, ``project``...).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_kinds
import lxdapi_preseed
import lxdapi_server

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def server_config_present(
    name, config, purge_config=False, force_secrets=False, target=None, **connection
):
    """
    Ensure the LXD server's own config keys (``core.https_address``, ``images.*``,
    ``core.trust_password``...) are as declared: one PATCH of ``/1.0`` with If-Match,
    only when something differs.

    ``core.trust_password`` cannot be read back (LXD shows only that one is set): it is
    written when none is set, and otherwise left alone unless ``force_secrets``. Its
    value never appears in changes or comments.

    name
        The state's ID (any text).

    config
        A mapping of server config keys; a key declared as ``""`` is unset.

    purge_config
        Unset every key that is not declared (default False; careful: that includes
        ``core.https_address``).

    force_secrets
        Write write-only keys on every run even when one is set (default False).

    target
        On an LXD cluster: the member whose own keys (``core.https_address``...) to
        manage.

    connection
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        lxd-server:
          lxdapi.server_config_present:
            - config:
                core.https_address: 127.0.0.1:8443
                images.auto_update_interval: 0
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_server.plan_server_config(
            api, config, purge_config, target, force_secrets
        ),
        "The server's config was updated.",
        "The server's config is already as declared.",
    )


def server_initialized(
    name,
    config=None,
    storage_pools=None,
    networks=None,
    profiles=None,
    projects=None,
    **connection,
):
    """
    Ensure the server is set up as a ``lxd init --preseed`` document says: the same
    shape (``config``, ``storage_pools``, ``networks``, ``profiles``, ``projects``),
    applied in the order ``lxd init`` applies it (the server config, pools, networks,
    projects, profiles). On a fresh daemon it creates what is declared; on an initialized one each
    entry is compared and converged as its own state would (keys and devices not
    declared are kept), so a second run sends nothing. Every entry is checked before
    anything is sent.

    name
        The state's ID.

    config
        Server config keys (``core.https_address``...); others are kept.

    storage_pools
        A list of pools: ``name``, ``driver``, ``config``, ``description``.

    networks
        A list of networks: ``name``, ``type``, ``config``, ``description``.

    profiles
        A list of profiles: ``name``, ``config``, ``devices``, ``description``.

    projects
        A list of projects: ``name``, ``config``, ``description``.

    connection
        ``remote``, ``endpoint``, ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        lxd-host:
          lxdapi.server_initialized:
            - config:
                core.https_address: 127.0.0.1:8443
            - storage_pools:
              - name: default
                driver: dir
            - networks:
              - name: lxdbr0
                type: bridge
                config:
                  ipv4.address: none
                  ipv6.address: none
            - profiles:
              - name: default
                devices:
                  root: {type: disk, path: /, pool: default}
                  eth0: {type: nic, name: eth0, network: lxdbr0}
    """

    def summary(sequence):
        created, updated = [], []
        for path, plan in sequence.todo:
            if path == ("server",):
                updated.append("the server config")
                continue
            section, entry = path
            kind = dict(lxdapi_preseed.SECTIONS)[section]
            label = f"{lxdapi_kinds.resource_kind(kind).label} {entry!r}"
            (created if boundary.created(plan, kind) else updated).append(label)
        parts = (["created " + ", ".join(created)] if created else []) + (
            ["updated " + ", ".join(updated)] if updated else []
        )
        return "; ".join(parts)

    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_preseed.plan_server_initialized(
            api,
            config=config,
            storage_pools=storage_pools,
            networks=networks,
            profiles=profiles,
            projects=projects,
        ),
        lambda sequence: f"Server initialized: {summary(sequence)}.",
        "The server is already initialized as declared.",
        would=lambda sequence: f"Would initialize the server: {summary(sequence)}.",
    )
