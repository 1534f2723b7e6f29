"""The server's own configuration (``GET``/``PATCH /1.0``): ``core.https_address``,
``images.*``, ``core.trust_password``...

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name.

LXD 5.0 shows a write-only key (``core.trust_password``) as ``true`` once it is set, never
its value: such a key is compared by whether it is set, and a declared value is written
only when none is (or with ``force_secrets``). On a cluster some keys are per member
(``core.https_address``...): ``target`` reads and writes one member's.
"""

import urllib.parse

from lxdapi import REDACTED, reword
from lxdapi_plans import Plan, plan_update
from lxdapi_values import check_bool, check_name, lxd_config

#: Server config keys whose value LXD may never show (it shows ``true`` once set): the
#: trust password (LXD 5.0 and 5.21), Loki's password (LXD 5.21 hides it too).
WRITE_ONLY_KEYS = ("core.trust_password", "loki.auth.password")


def _server_url(api, target=None):
    """``/1.0``, with ``?target=MEMBER`` for one cluster member's own keys."""
    url = "/" + api.default_version
    if target is None:
        return url
    return url + "?" + urllib.parse.urlencode({"target": check_name(target, "target")})


def server_config_get(api, target=None):
    """The server's config keys (a write-only key set shows as ``True``)."""
    return dict(api.get(_server_url(api, target)).metadata.get("config") or {})


def plan_server_config(api, config, purge_config=False, target=None, force_secrets=False):
    """The :class:`Plan` that brings the server's config keys to ``config``: one PATCH of
    ``/1.0`` with If-Match, only when something differs.

    Keys not declared are kept unless ``purge_config`` (then every other key is unset:
    use with care, it includes ``core.https_address``). A write-only key
    (:data:`WRITE_ONLY_KEYS`) counts as equal when it is set, since its value cannot be
    read back; ``force_secrets`` writes it anyway, on every run. ``target``: on a
    cluster, the member whose own keys are meant.
    """
    want = lxd_config(config, "config")
    check_bool(purge_config, "purge_config")
    check_bool(force_secrets, "force_secrets")
    if want.get("core.trust_password") and not api.takes_trust_password:
        raise ValueError(
            "{} at {} has no core.trust_password (it trusts clients by token, not by "
            "password{}); make trust tokens with lxdapi.certificate_token_create".format(
                api.server_label,
                api.display_endpoint,
                "" if api.server_kind == "incus" else ": LXD 6.1 dropped it",
            )
        )
    url = _server_url(api, target)
    current = api.request("GET", url)  # fresh, with its ETag (api.server may be cached)
    meta = current.metadata or {}
    have = dict(meta.get("config") or {})
    plan = Plan("server")
    compared = dict(want)
    for key in WRITE_ONLY_KEYS:
        if key in compared and have.get(key) is True and compared[key] != "":
            if force_secrets:
                have[key] = None  # never equal: written again
            else:
                compared.pop(key)
                plan.notes.append(
                    f"{key} is set; its value cannot be read back, so it was "
                    "not compared (force_secrets: True writes it)."
                )
    shown = dict(meta, config={k: ("(set)" if v is True else v) for k, v in have.items()})
    update = plan_update(
        url,
        shown,
        current.etag,
        {"config": compared},
        purge_config=purge_config,
        writable=("config",),
    )
    secrets = [str(v) for k, v in want.items() if k in WRITE_ONLY_KEYS and v]
    for write in update.writes:
        write.body = {"config": write.body["config"]}  # no description: the server has none
        write.explain = _hide_secrets(secrets)
    return plan.extend(update)


def _hide_secrets(secrets):
    """A write's ``explain``: the server's error without the secret values it may echo
    (LXD 6.1 answers an unknown key with ``Cannot set "KEY" to "VALUE"``)."""

    def explain(api, exc):
        text = exc.error or ""
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return reword(exc, text) if text != exc.error else exc

    return explain


def server_config_set(api, config, purge_config=False, target=None, force_secrets=False):
    """Apply :func:`plan_server_config`; return its changes (empty: nothing to do)."""
    plan = plan_server_config(api, config, purge_config, target, force_secrets)
    plan.apply(api)
    return plan.changes
