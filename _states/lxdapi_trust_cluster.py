"""``lxdapi.*`` states of trust and clusters: certificates trusted or not, this minion
trusted by a remote, cluster members (config, joined, absent) and groups.

Core: ``_utils/lxdapi_trust.py``, ``_utils/lxdapi_cluster.py`` and
``_utils/lxdapi_reconcile.py``.
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_cluster
import lxdapi_trust

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def cluster_member_present(
    name, description=None, failure_domain=None, roles=None, groups=None, config=None, **connection
):
    """
    Ensure a member of an LXD cluster has the declared settings (None: not managed): one
    PUT with If-Match, only when something differs.

    name
        The member's server name.

    description
        The member's description.

    failure_domain
        Its failure domain (``default``, ``rack2``...).

    roles
        The roles a user assigns (``event-hub``, ``ovn-chassis``), compared as a set;
        LXD's own database roles are kept.

    groups
        The cluster groups it belongs to, compared as a set (they must exist).

    config
        Member config keys (``scheduler.instance``...); keys not declared are kept.

    connection
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        node2:
          lxdapi.cluster_member_present:
            - failure_domain: rack2
            - config:
                scheduler.instance: manual
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_cluster.plan_cluster_member(
            api, name, description, failure_domain, roles, groups, config
        ),
        f"Cluster member {name} updated.",
        f"Cluster member {name} is already as declared.",
    )


def cluster_group_present(name, members=None, description=None, **connection):
    """
    Ensure a cluster group exists with the declared members and description (for
    placement with ``target: "@NAME"``). Members are compared as a set.

    name
        The group's name.

    members
        The server names of its members, the whole list; None: not managed.

    description
        The description; None: not managed.

    connection
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        gpu:
          lxdapi.cluster_group_present:
            - members: [node2, node3]
    """
    declared = {"members": members, "description": description}
    return boundary.present("cluster_group", name, declared, connection)


def cluster_group_absent(name, **connection):
    """
    Ensure a cluster group does not exist. LXD refuses to delete one that still has
    members (result False, with LXD's words).

    name
        The group's name.

    connection
        The connection settings (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        gpu:
          lxdapi.cluster_group_absent
    """
    return boundary.absent("cluster_group", name, connection)


def cluster_member_joined(name, token, server_address, member_config=None, **connection):
    """
    Ensure this server (the new member, reached on its own socket) is a member of the
    cluster a join token names, under ``name``: it joins with the token (the cluster's
    certificate read from the token's addresses and checked against its fingerprint, as
    ``lxd init`` does). A server already a member under ``name`` is left alone (a spent
    token does not matter then). The server must be fresh (no pools or networks of its
    own that the cluster has too).

    name
        The member's server name (the one the token was made for).

    token
        The join token (``lxdapi.cluster_token_create`` or ``lxc cluster add`` on an
        existing member), e.g. from pillar.

    server_address
        ``host:port`` the other members reach this one at.

    member_config
        This member's own keys of the cluster's pools and networks, as ``lxd init``
        asks them: a list of ``{entity: storage-pool|network, name, key, value}`` (a
        pool's ``source``, a network's ``parent``...).

    connection
        The connection settings of the new member (its local socket by default).

    CLI Example:

    .. code-block:: yaml

        node3:
          lxdapi.cluster_member_joined:
            - token: {{ pillar['lxd_join_tokens']['node3'] }}
            - server_address: 10.0.0.3:8443
            - member_config:
              - {entity: storage-pool, name: default, key: source, value: ""}
    """

    def make_plan(api):
        plan = lxdapi_cluster.plan_cluster_member_joined(api, token, server_address, member_config)
        if plan.name != name:
            raise ValueError(f"the join token is for {plan.name!r}, not {name!r}")
        return plan

    return boundary.converge(
        name,
        connection,
        make_plan,
        lambda plan: "Joined the cluster as {} (through {}).".format(
            name, plan.changes["cluster"]["new"]["cluster_address"]
        ),
        f"This server is already the cluster member {name}.",
    )


def cluster_member_absent(name, force=False, **connection):
    """
    Ensure a server is not a member of the cluster: it is removed (``DELETE
    /1.0/cluster/members/NAME``) when it is one. Refused while instances are on it
    unless ``force``.

    name
        The member's server name.

    force
        Remove it even though instances are on it (default False; they are lost to the
        cluster).

    connection
        The connection settings of a member that stays (``remote``, ``endpoint``...).

    CLI Example:

    .. code-block:: yaml

        node3:
          lxdapi.cluster_member_absent
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_cluster.plan_cluster_member_absent(api, name, force=force),
        f"Cluster member {name} removed.",
        f"{name} is not a member of the cluster.",
    )


def certificate_present(
    name,
    certificate,
    type="client",
    restricted=False,
    projects=None,
    **connection,
):
    """
    Ensure a certificate is in the LXD server's trust store, named ``name``, with the
    declared type, restriction and projects.

    The certificate is identified by its fingerprint. Missing: added. Present: its name,
    type, restriction and projects are brought to what is declared (one PATCH with
    If-Match). Other certificates with the same name are kept and reported.

    name
        The certificate's name in the trust store.

    certificate
        The PEM certificate: its text, a path on the minion or a ``salt://`` URL (e.g.
        the ``certificate`` that ``lxdapi.client_certificate_create`` returned on the
        client minion, passed through the mine or pillar).

    type
        ``client`` (default) or ``metrics``.

    restricted
        Restrict the certificate to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach (default: none).

    connection
        Connection settings (``remote``, ``endpoint``, ...).

    CLI Example:

    .. code-block:: yaml

        minion1:
          lxdapi.certificate_present:
            - certificate: salt://lxd/clients/minion1.crt
            - restricted: True
            - projects: [web]
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_trust.plan_certificate_present(
            api,
            name,
            boundary.fileserver_path(certificate, "certificate"),
            type,
            restricted,
            projects,
        ),
        lambda plan: "Certificate {} {}.".format(
            name, "added to the trust store" if boundary.created(plan, "certificate") else "updated"
        ),
        f"Certificate {name} is already trusted as declared.",
    )


def certificate_absent(name, **connection):
    """
    Ensure no certificate called ``name`` (or with fingerprint ``name``, or one starting
    with it: at least 8 hex digits) is in the LXD server's trust store.

    name
        The certificate's name or fingerprint.

    connection
        Connection settings (``remote``, ``endpoint``, ...).

    CLI Example:

    .. code-block:: yaml

        old-minion:
          lxdapi.certificate_absent
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_trust.plan_certificate_absent(api, name),
        f"Certificate {name} removed from the trust store.",
        f"Certificate {name} is already absent.",
    )


def remote_trusted(name, password=None, token=None, **connection):
    """
    Ensure the server trusts this minion's client certificate: the certificate is sent
    with a trust ``token`` (or, on LXD before 6.1, the trust ``password``) when the
    server does not trust it yet; nothing is sent when it does.

    name
        The name the certificate gets in the server's trust store.

    password
        The server's trust password (``core.trust_password``; LXD 5.x only).

    token
        A trust token made on the server (``lxdapi.certificate_token_create``,
        ``lxc config trust add``, ``incus config trust add``): used once.

    connection
        The server's connection settings: an ``https://`` ``endpoint`` with ``cert`` and
        ``key`` (the client certificate), or ``remote``.

    CLI Example:

    .. code-block:: yaml

        minion1:
          lxdapi.remote_trusted:
            - remote: lab
            - token: {{ pillar['lab_trust_token'] }}
    """
    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_trust.plan_remote_trusted(
            api, password=password, token=token, name=name
        ),
        "This client is now trusted by the server.",
        "This client is already trusted by the server.",
    )
