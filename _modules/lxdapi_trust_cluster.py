"""``lxdapi.*`` execution functions of trust and clusters: the server's trusted
certificates and tokens, a client certificate of this minion, ``authenticate``; cluster
members (update, evacuate, restore, remove, join tokens) and groups.

Core: ``_utils/lxdapi_trust.py``, ``_utils/lxdapi_cluster.py`` and
``_utils/lxdapi_reconcile.py``. Connection settings as in every ``lxdapi`` function (see
``_modules/lxdapi.py``).
"""

import os

from salt.exceptions import SaltInvocationError

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_cluster
import lxdapi_reconcile
import lxdapi_trust

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__)


def _certificate_text(certificate):
    """PEM text, a local path, or a ``salt://`` URL (fetched) of a certificate."""
    if isinstance(certificate, str) and certificate.startswith("salt://"):
        return boundary.local_source(certificate)
    return certificate


@boundary.errors
def certificate_list(recursion=0, **connection):
    """
    List the server's trust store.

    recursion
        0 (default): the certificates' fingerprints; 1: LXD's certificate objects
        (``name``, ``fingerprint``, ``type``, ``restricted``, ``projects``,
        ``certificate``).

    connection
        Connection settings (``remote``, ``endpoint``, ...); see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.certificate_list recursion=1
    """
    return lxdapi_trust.certificate_list(boundary.connect(connection), recursion)


@boundary.errors
def certificate_get(fingerprint, **connection):
    """
    Return a trusted certificate (LXD's object) by fingerprint or unique prefix, or
    False.

    fingerprint
        The certificate's SHA-256 fingerprint, or a unique prefix of it.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.certificate_get 48b28ddc5658
    """
    result = lxdapi_trust.certificate_get(boundary.connect(connection), fingerprint)
    return result.metadata if result else False


@boundary.errors
def certificate_add(
    certificate,
    name=None,
    type="client",
    restricted=False,
    projects=None,
    **connection,
):
    """
    Add a certificate to the server's trust store; return its fingerprint.

    certificate
        The PEM certificate: its text, a path on the minion, or a ``salt://`` URL.

    name
        The name to give it (LXD's default: none).

    type
        ``client`` (default) or ``metrics``.

    restricted
        Restrict it to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_add /srv/minion1.crt name=minion1
    """
    return lxdapi_trust.certificate_add(
        boundary.connect(connection),
        _certificate_text(certificate),
        name,
        type,
        restricted,
        projects,
    )


@boundary.errors
def certificate_delete(name, **connection):
    """
    Remove certificates from the trust store: every one called ``name``, else the one
    whose fingerprint is (or starts with, at least 8 digits) ``name``. Returns the
    fingerprints removed (an empty list when there was none).

    name
        The certificate's name or fingerprint.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_delete minion1
    """
    return lxdapi_trust.certificate_delete(boundary.connect(connection), name)


@boundary.errors
def certificate_token_create(name, restricted=False, projects=None, **connection):
    """
    Issue a trust token (as ``lxc config trust add --name NAME`` does): a client that
    presents it once, with :func:`authenticate`, gets its certificate trusted as ``name``.
    Needs the ``certificate_token`` API extension (LXD 5.0 and later).

    name
        The name the client's certificate will get.

    restricted
        Restrict the certificate to ``projects`` (default False).

    projects
        The projects a restricted certificate may reach.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt lxdhost lxdapi.certificate_token_create minion1
    """
    return lxdapi_trust.certificate_token_create(
        boundary.connect(connection), name, restricted, projects
    )


@boundary.errors
def client_certificate_create(
    path_prefix=None, cert=None, key=None, common_name=None, days=3650, overwrite=False
):
    """
    Make this minion a client key and a self-signed certificate for LXD's HTTPS API.

    The key (EC P-384) is written with mode 0600 and never returned or logged; the
    ``cryptography`` package makes it when it is importable, else ``openssl``. An
    existing pair is kept (``created: False``) unless ``overwrite``.

    path_prefix
        Write ``<path_prefix>.crt`` and ``<path_prefix>.key``. Default:
        ``<pki_dir>/lxdapi`` (e.g. ``/etc/salt/pki/minion/lxdapi.crt``).

    cert, key
        The exact paths instead (both, or neither).

    common_name
        The certificate's CN (default: the minion id).

    days
        Validity in days (default 3650).

    overwrite
        Make a new pair even when the files exist (default False).

    Returns ``{cert, key, fingerprint, certificate (the PEM), created}``: use ``cert``
    and ``key`` in ``lxdapi:remotes:NAME``, and ``certificate`` with
    ``lxdapi.certificate_present`` on the server's side.

    CLI Example:

    .. code-block:: bash

        salt minion1 lxdapi.client_certificate_create
        salt minion1 lxdapi.client_certificate_create path_prefix=/etc/lxdapi/client
    """
    if path_prefix and (cert or key):
        raise SaltInvocationError("give path_prefix, or cert and key, not both")
    if bool(cert) != bool(key):
        raise SaltInvocationError("give both cert and key paths")
    if not cert:
        prefix = path_prefix or os.path.join(
            __opts__.get("pki_dir") or __opts__.get("cachedir"), "lxdapi"
        )
        cert, key = str(prefix) + ".crt", str(prefix) + ".key"
    return lxdapi_trust.create_client_certificate(
        cert, key, common_name or __opts__.get("id") or "lxdapi", days, overwrite
    )


@boundary.errors
def authenticate(remote=None, password=None, token=None, name=None, **connection):
    """
    Get this minion's client certificate trusted by a remote LXD (``POST
    /1.0/certificates`` over HTTPS with the certificate, as ``lxc remote add`` does).

    remote
        The remote's name in ``lxdapi:remotes`` (or give ``endpoint``, ``cert``,
        ``key`` and ``server_cert``/``verify`` directly).

    password
        The server's trust password (``core.trust_password``).

    token
        A trust token (``lxc config trust add --name NAME`` or
        :func:`certificate_token_create` on the server); used where the server supports
        tokens (``explicit_trust_token`` or ``certificate_token`` API extension).

    name
        The name to give the certificate (password only; a token carries its own).

    connection
        Other connection settings; see ``_modules/lxdapi.py``.

    Returns ``{trusted: True, changed, fingerprint}``; a refused secret fails, saying
    so. Pass the secret from pillar rather than on the command line.

    CLI Example:

    .. code-block:: bash

        salt minion1 lxdapi.authenticate lab token=eyJjbGllbnRfbmFtZSI6...
    """
    conn, rest = boundary.split_connection(connection)
    boundary.no_extra(rest)
    if remote:
        conn["remote"] = remote
    return lxdapi_trust.authenticate(
        boundary.api(conn), password=password, token=token, name=name or None
    )


@boundary.errors
def cluster_members(**connection):
    """
    List the members of the LXD cluster: ``server_name``, ``url``, ``roles``,
    ``status`` (``Online``...), ``message``, ``architecture``, ``failure_domain``,
    ``groups``. Fails when the server is not clustered.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_members remote=cluster1
    """
    return lxdapi_cluster.cluster_members(boundary.connect(connection))


@boundary.errors
def cluster_member_get(name, **connection):
    """
    Return one cluster member (as in :func:`cluster_members`), or False if there is no
    such member. Fails when the server is not clustered.

    name
        The member's server name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_get node2 remote=cluster1
    """
    return lxdapi_cluster.cluster_member_get(boundary.connect(connection), name) or False


@boundary.errors
def cluster_member_update(
    name, description=None, failure_domain=None, roles=None, groups=None, config=None, **connection
):
    """
    Bring a cluster member's settings to what is given (a PUT with If-Match, only when
    something differs; what is not given is kept); return the changes.

    name
        The member's server name.

    description
        The member's description.

    failure_domain
        Its failure domain (``default``, ``rack2``...), for database placement.

    roles
        The roles a user assigns (``event-hub``, ``ovn-chassis``), the whole list; LXD's
        own database roles are kept.

    groups
        The cluster groups it belongs to, the whole list (they must exist).

    config
        Member config keys (``scheduler.instance``: ``all``, ``manual``, ``group``);
        ``""`` unsets one.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_update node2 failure_domain=rack2 \
            config='{"scheduler.instance": "manual"}'
    """
    plan = lxdapi_cluster.plan_cluster_member(
        boundary.connect(connection), name, description, failure_domain, roles, groups, config
    )
    plan.apply(boundary.connect(connection))
    return plan.changes


@boundary.errors
def cluster_group_get(name, **connection):
    """
    Return a cluster group (description, members), or False.

    name
        The group's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_get gpu
    """
    return boundary.resource_get("cluster_group", name, connection)


@boundary.errors
def cluster_group_list(recursion=0, **connection):
    """
    List the cluster groups: names, or with ``recursion=1`` full objects.

    recursion
        True to return every group as LXD holds it (default False: names only).

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_list
    """
    return lxdapi_reconcile.resource_list(
        boundary.connect(connection), "cluster_group", recursion=recursion
    )


@boundary.errors
def cluster_group_create(name, members=None, description=None, **connection):
    """
    Create a cluster group; return it as LXD then holds it. Fails if it exists.

    name
        The group's name.

    members
        The server names of its members.

    description
        The group's description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_create gpu members='["node2"]'
    """
    declared = {"members": members, "description": description}
    return lxdapi_reconcile.resource_create(
        boundary.connect(connection), "cluster_group", name, declared
    )


@boundary.errors
def cluster_group_update(name, members=None, description=None, **connection):
    """
    Bring a cluster group to the given members and description (a PUT with If-Match,
    only when something differs); return the changes.

    name
        The group's name.

    members
        The whole list of its members; None keeps them.

    description
        The new description.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_update gpu members='["node2", "node3"]'
    """
    declared = {"members": members, "description": description}
    return boundary.resource_update("cluster_group", name, declared, connection)


@boundary.errors
def cluster_group_delete(name, **connection):
    """
    Delete a cluster group (LXD refuses while it has members). True if deleted, False if
    it did not exist.

    name
        The group's name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_group_delete gpu
    """
    return lxdapi_reconcile.resource_delete(boundary.connect(connection), "cluster_group", name)


@boundary.errors
def cluster_member_evacuate(name, **connection):
    """
    Evacuate a cluster member: its instances are moved to other members or stopped, as
    their ``cluster.evacuate`` setting says. True if it did, False when the member was
    evacuated already.

    name
        The member's server name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_evacuate node2
    """
    return lxdapi_cluster.cluster_member_state(boundary.connect(connection), name, "evacuate")


@boundary.errors
def cluster_member_restore(name, **connection):
    """
    Restore an evacuated cluster member: its instances come back and start again. True
    if it did, False when the member was online already.

    name
        The member's server name.

    connection
        Connection settings; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt '*' lxdapi.cluster_member_restore node2
    """
    return lxdapi_cluster.cluster_member_state(boundary.connect(connection), name, "restore")


@boundary.errors
def cluster_token_create(name, **connection):
    """
    Make a join token for a new cluster member (on an existing member); return the
    token text, as ``lxc cluster add NAME`` prints it. Good for one join; pass it to
    ``lxdapi.cluster_member_joined`` on the new member's minion (through pillar, or the
    mine).

    name
        The new member's server name.

    connection
        Connection settings of an existing member; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt node1 lxdapi.cluster_token_create node3
    """
    return lxdapi_cluster.cluster_token_create(boundary.connect(connection), name)


@boundary.errors
def cluster_member_remove(name, force=False, **connection):
    """
    Remove a member from the cluster; return the changes (empty when it is no member).
    Refused while instances are on it, unless ``force``.

    name
        The member's server name.

    force
        Remove it even though instances are on it (default False; they are lost to the
        cluster).

    connection
        Connection settings of a member; see ``_modules/lxdapi.py``.

    CLI Example:

    .. code-block:: bash

        salt node1 lxdapi.cluster_member_remove node3
    """
    api = boundary.connect(connection)
    plan = lxdapi_cluster.plan_cluster_member_absent(api, name, force=force)
    plan.apply(api)
    return plan.changes
