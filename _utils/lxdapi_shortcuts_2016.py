"""The 2016 lxdapi library's idempotent shortcuts, kept as its documentation shows them.

Each takes an :class:`lxdapi.API` (and an :class:`lxdapi.APIResult` where the 2016 API did)
and returns True when it changed something. They are thin wrappers over the plans the
Salt states use (:func:`lxdapi_instances.plan_instance_present`,
:func:`lxdapi_instances.plan_instance_status`, :func:`lxdapi_instances.plan_instance_absent`,
:func:`lxdapi_images.plan_image_present`, :func:`lxdapi_images.plan_image_alias_present`),
so there is one reconcile of an instance or an image, not two. Their names are the 2016
library's; the Salt functions of the same names (``lxdapi.container_get`` ...) take names
and return Salt's data, and live in the execution and state modules.
"""

from lxdapi_images import (
    image_get,
    image_get_fingerprint,
    plan_image_absent,
    plan_image_alias_present,
    plan_image_present,
)
from lxdapi_instances import (
    instance_get,
    plan_instance_absent,
    plan_instance_present,
    plan_instance_status,
)
from lxdapi_spec import InstanceSpec
from lxdapi_values import normalize_status, planning_status

#: The 2016 library's shortcuts: the ones defined here, and the two image reads it had,
#: which are the images part's own.
__all__ = [
    "container_get",
    "container_absent",
    "container_apply_config",
    "container_apply_status",
    "image_get",
    "image_get_fingerprint",
    "image_present",
    "image_absent",
    "image_alias_present",
]

#: The keys of ``container_apply_config``'s ``config``: an instance as LXD's API takes it.
INSTANCE_BODY_KEYS = (
    "name",
    "source",
    "config",
    "devices",
    "profiles",
    "type",
    "ephemeral",
    "description",
)


def container_get(api, name):
    """Return the :class:`lxdapi.APIResult` for a container (any instance), or False."""
    return instance_get(api, name)


def _name(container, config=None):
    if container:
        return container.metadata["name"]
    if config and config.get("name"):
        return config["name"]
    raise ValueError("an absent container needs a 'name' in its config")


def container_apply_config(api, container, config, purge_config=False, purge_devices=False):
    """Create an absent container, or bring an existing one to ``config``.

    ``container`` is the :class:`lxdapi.APIResult` of :func:`container_get` (or False);
    ``config`` the dict LXD's API takes (``name`` when the container is absent,
    ``source``, ``config``, ``devices``, ``profiles``, ``type``, ``ephemeral``,
    ``description``). Declared config keys, devices, the ordered profile list and the
    description are compared as LXD stores them (``volatile.*`` and ``image.*`` ignored)
    and written with If-Match. Returns True if it wrote.

    Example::

        container_apply_config(api, container_get(api, 'web1'), {'name': 'web1', ...})
    """
    config = dict(config or {})
    unknown = sorted(set(config) - set(INSTANCE_BODY_KEYS))
    if unknown:
        raise ValueError(
            "unknown instance key(s) {}; use {}".format(
                ", ".join(unknown), ", ".join(INSTANCE_BODY_KEYS)
            )
        )
    name = _name(container, config)
    spec = InstanceSpec(
        source=config.get("source"),
        config=config.get("config"),
        devices=config.get("devices"),
        profiles=config.get("profiles"),
        instance_type=config.get("type") or "container",
        ephemeral=config.get("ephemeral"),
        description=config.get("description"),
        purge_config=purge_config,
        purge_devices=purge_devices,
    )
    plan = plan_instance_present(api, name, spec, current=container)
    return plan.apply(api)


def container_apply_status(api, container, status, timeout=30, force=False):
    """Apply an LXD status to a container: Running, Stopped or Frozen.

    ``container`` is its :class:`lxdapi.APIResult`. Stopped is a clean shutdown
    (``timeout`` seconds; ``force`` kills). Returns True if the status changed.
    Raises ValueError, listing the choices, for any other status.

    Example::

        container_apply_status(api, container_get(api, 'web1'), 'Running')
    """
    status = normalize_status(status)
    if not container:  # no instance, no status to change
        return False
    return plan_instance_status(
        api,
        container.metadata["name"],
        status,
        force=force,
        timeout=timeout,
        current=planning_status(container.metadata.get("status")),
    ).apply(api)


def container_absent(api, container, timeout=30, force=False):
    """Ensure a container is absent: stop it (cleanly) if it runs or is frozen, delete it.

    ``container`` is its :class:`lxdapi.APIResult` or False. Returns True if it deleted.

    Example::

        container_absent(api, container_get(api, 'web1'))
    """
    if not container:
        return False
    return plan_instance_absent(
        api, container.metadata["name"], force=force, timeout=timeout, current=container
    ).apply(api)


def image_present(api, path, fingerprint=None, public=False):
    """Upload the image tarball at ``path`` unless its fingerprint exists. True if uploaded.

    Example::

        image_present(api, '/srv/busybox.tar.gz')
    """
    return plan_image_present(
        api, None, path, public=bool(public) or None, auto_update=None, fingerprint=fingerprint
    ).apply(api)


def image_absent(api, fingerprint):
    """Return False if the image is absent, otherwise delete it and return True."""
    return plan_image_absent(api, fingerprint).apply(api)


def image_alias_present(api, name, target, description=None):
    """Ensure an image has an alias: create it, or move it when it points elsewhere.

    Returns True if it changed something.
    """
    return plan_image_alias_present(api, name, target, description).apply(api)
