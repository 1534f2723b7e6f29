"""Remotes and trust: the trust store (certificates), a minion's client certificate,
authenticate (trust password or token).

A part of lxdapi's core (see ``lxdapi.py`` for the map of the parts); it imports what it
uses from the others by name."""

import os
import re
import ssl

from lxdapi import (
    APIException,
    APIForbiddenException,
    certificate_fingerprint,
    get_or_none,
    reword,
)
from lxdapi_operations import list_collection
from lxdapi_plans import Plan, Step, Write
from lxdapi_values import check_bool, check_name, check_names, token_text

CERTIFICATE_TYPES = ("client", "metrics")


def certificate_pem(certificate):
    """The PEM text of a certificate given as PEM text or as the path of a PEM file."""
    if not isinstance(certificate, str) or not certificate.strip():
        raise ValueError(
            f"certificate must be a PEM certificate or the path of one, not {certificate!r}"
        )
    text = certificate
    if "-----BEGIN" not in certificate:
        if not os.path.isfile(certificate):
            raise ValueError(
                f"certificate {certificate!r} is neither a PEM certificate nor an existing file"
            )
        with open(certificate) as fh:
            text = fh.read()
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    if not match:
        raise ValueError(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in {}".format(
                "the given text" if text is certificate else certificate
            )
        )
    try:
        ssl.PEM_cert_to_DER_cert(match.group(0))
    except ValueError as exc:
        raise ValueError(f"the certificate is not valid PEM: {exc}") from None
    return match.group(0) + "\n"


def certificate_body(pem):
    """A PEM certificate as ``POST /1.0/certificates`` takes it: base64 DER, no armour."""
    return "".join(
        line.strip() for line in pem.strip().splitlines() if not line.startswith("-----")
    )


def certificate_list(api, recursion=0):
    """The trust store: fingerprints (``recursion=0``) or LXD's certificate objects."""
    return list_collection(api, "certificates", recursion)


def certificate_get(api, fingerprint):
    """The :class:`APIResult` of a certificate by fingerprint (or unique prefix), or None."""
    return get_or_none(api, api.path("certificates", check_name(fingerprint, "fingerprint")))


def certificate_find(api, name):
    """The certificates (LXD's objects) called ``name``, else the one whose fingerprint
    is ``name`` or starts with it (at least 8 hex digits); ValueError when a prefix
    fits several."""
    name = check_name(name, "name")
    certs = certificate_list(api, recursion=1)
    named = [c for c in certs if c.get("name") == name]
    if named:
        return named
    prefix = name.lower()
    if len(prefix) < 8 or not re.fullmatch(r"[0-9a-f]+", prefix):
        return []
    found = [c for c in certs if c.get("fingerprint", "").startswith(prefix)]
    if len(found) > 1:
        raise ValueError(
            f"fingerprint prefix {name!r} fits {len(found)} certificates; give more digits"
        )
    return found


def _certificate_summary(cert):
    return {
        "name": cert.get("name"),
        "fingerprint": cert.get("fingerprint"),
        "type": cert.get("type"),
        "restricted": bool(cert.get("restricted")),
        "projects": list(cert.get("projects") or []),
    }


def _check_certificate_args(certificate_type, restricted, projects):
    if certificate_type not in CERTIFICATE_TYPES:
        raise ValueError(
            "unknown certificate type {!r}; choose {}".format(
                certificate_type, " or ".join(CERTIFICATE_TYPES)
            )
        )
    check_bool(restricted, "restricted")
    projects = [] if projects is None else check_names(projects, "projects")
    if projects and not restricted:  # LXD 6.7 refuses it; others ignore the projects
        raise ValueError(
            "projects {} apply only to a restricted certificate: declare restricted: "
            "True (an unrestricted one reaches every project)".format(", ".join(projects))
        )
    return projects


def plan_certificate_present(
    api, name, certificate, certificate_type="client", restricted=False, projects=None
):
    """The :class:`Plan` that puts ``certificate`` (PEM text or path) in the trust store
    as ``name`` with the declared type, ``restricted`` flag and ``projects``.

    The certificate is identified by its fingerprint: a missing one is added (one POST);
    a present one has its name, type, restriction and projects brought to what is
    declared (one PATCH with If-Match). Other certificates called ``name`` are reported
    in a note, never touched.
    """
    name = check_name(name, "name")
    projects = _check_certificate_args(certificate_type, restricted, projects)
    pem = certificate_pem(certificate)
    fingerprint = certificate_fingerprint(pem)
    plan = Plan(name)
    current = certificate_get(api, fingerprint)
    if current is None:
        _check_projects_exist(api, projects)
        body = {
            "type": certificate_type,
            "name": name,
            "certificate": certificate_body(pem),
            "restricted": restricted,
            "projects": projects,
        }
        plan.add(
            "certificate",
            None,
            {
                "name": name,
                "fingerprint": fingerprint,
                "type": certificate_type,
                "restricted": restricted,
                "projects": projects,
            },
        )
        plan.writes.append(Write("POST", "certificates", body, keys=("certificate",)))
        others = [
            c["fingerprint"] for c in certificate_list(api, recursion=1) if c.get("name") == name
        ]
        if others:
            plan.notes.append(
                "Other certificate(s) called {!r} are kept: {}.".format(
                    name, ", ".join(f[:12] for f in others)
                )
            )
        return plan
    meta = current.metadata
    patch = {}
    for key, want in (
        ("name", name),
        ("type", certificate_type),
        ("restricted", restricted),
        ("projects", projects),
    ):
        have = meta.get(key)
        if key == "restricted":
            have = bool(have)
        if key == "projects":
            have = list(have or [])
            if sorted(have) == sorted(want):
                continue
        if have != want:
            plan.add(key, have, want)
            patch[key] = want
    if patch:
        if "projects" in patch:
            _check_projects_exist(api, projects)
        plan.writes.append(
            Write(
                "PATCH",
                api.path("certificates", fingerprint),
                patch,
                etag=current.etag,
                keys=tuple(patch),
            )
        )
    return plan


def _check_projects_exist(api, projects):
    if projects:
        have = set(list_collection(api, "projects"))
        missing = [p for p in projects if p not in have]
        if missing:
            raise ValueError(
                "project(s) {} do not exist on {}".format(", ".join(missing), api.display_endpoint)
            )


def plan_certificate_absent(api, name):
    """The :class:`Plan` that removes from the trust store every certificate called
    ``name`` (else the one whose fingerprint is, or starts with, ``name``)."""
    plan = Plan(name)
    found = certificate_find(api, name)
    if found:
        old = [_certificate_summary(c) for c in found]
        plan.add("certificate", old[0] if len(old) == 1 else old, None)
        for cert in found:
            plan.writes.append(
                Write(
                    "DELETE", api.path("certificates", cert["fingerprint"]), keys=("certificate",)
                )
            )
    return plan


def certificate_add(
    api, certificate, name=None, certificate_type="client", restricted=False, projects=None
):
    """Add a certificate (PEM text or path) to the trust store; return its fingerprint.

    :class:`APIConflictException`-like errors from LXD (already trusted) are raised.
    """
    projects = _check_certificate_args(certificate_type, restricted, projects)
    pem = certificate_pem(certificate)
    _check_projects_exist(api, projects)
    body = {
        "type": certificate_type,
        "certificate": certificate_body(pem),
        "restricted": restricted,
        "projects": projects,
    }
    if name is not None:
        body["name"] = check_name(name, "name")
    Write("POST", "certificates", body).send(api)
    return certificate_fingerprint(pem)


def certificate_delete(api, name):
    """Remove the certificate(s) called ``name`` (or with that fingerprint or prefix);
    return the fingerprints removed (empty when there was none)."""
    plan = plan_certificate_absent(api, name)
    plan.apply(api)
    return [w.url.rsplit("/", 1)[-1] for w in plan.writes]


def certificate_token_create(api, name, restricted=False, projects=None):
    """Ask the server for a trust token a client can redeem once (``certificate_token``
    API extension); return the token text (base64, as ``lxc config trust add`` prints)."""
    name = check_name(name, "name")
    projects = _check_certificate_args("client", restricted, projects)
    if not api.has_extension("certificate_token"):
        raise APIException(
            error=f"LXD at {api.display_endpoint} does not issue trust tokens (no "
            "certificate_token API extension)"
        )
    body = {
        "type": "client",
        "name": name,
        "token": True,
        "restricted": restricted,
        "projects": projects,
    }
    result = api.post("certificates", json=body)
    meta = (result.metadata or {}).get("metadata") or {}  # the token operation's
    return token_text(
        {
            "client_name": name,
            "fingerprint": meta.get("fingerprint"),
            "addresses": meta.get("addresses"),
            "secret": meta.get("secret"),
            "expires_at": meta.get("expires_at") or "0001-01-01T00:00:00Z",
        }
    )


def _write_private(path, data):
    """Write ``data`` (bytes) to ``path`` readable by its owner only (0600), atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _client_certificate_cryptography(common_name, days):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, hashes.SHA384())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _client_certificate_openssl(common_name, days):
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # 0700: the key never sits readable
        key_path, cert_path = os.path.join(tmp, "client.key"), os.path.join(tmp, "client.crt")
        proc = subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:secp384r1",
                "-sha384",
                "-nodes",
                "-days",
                str(days),
                "-subj",
                "/CN=" + common_name.replace("/", "\\/"),
                "-addext",
                "extendedKeyUsage=clientAuth",
                "-keyout",
                key_path,
                "-out",
                cert_path,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise OSError(
                "openssl could not make the client certificate: "
                f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
            )
        with open(cert_path, "rb") as fh:
            cert_pem = fh.read()
        with open(key_path, "rb") as fh:
            key_pem = fh.read()
    return cert_pem, key_pem


def create_client_certificate(
    cert_path, key_path, common_name="lxdapi", days=3650, overwrite=False
):
    """Make a client key (EC P-384, written 0600) and a self-signed certificate for it.

    Uses the ``cryptography`` package when it is importable, else the ``openssl``
    command. Existing files are kept unless ``overwrite`` (one of the two missing is an
    error). Returns ``{"cert", "key", "fingerprint", "certificate" (the PEM),
    "created"}``; the key itself is never returned or logged.
    """
    cert_path, key_path = check_name(cert_path, "cert"), check_name(key_path, "key")
    common_name = check_name(common_name, "common_name")
    if isinstance(days, bool) or not str(days).isdigit() or int(days) < 1:
        raise ValueError(f"days must be a whole number of days (>= 1), not {days!r}")
    days = int(days)
    check_bool(overwrite, "overwrite")
    have = [os.path.exists(p) for p in (cert_path, key_path)]
    created = overwrite or not all(have)
    if not overwrite and any(have) and not all(have):
        raise ValueError(
            "{} exists but {} does not; pass overwrite=True to make a new pair".format(
                *((cert_path, key_path) if have[0] else (key_path, cert_path))
            )
        )
    if created:
        for path in (cert_path, key_path):
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                os.makedirs(folder, mode=0o700)
        try:
            cert_pem, key_pem = _client_certificate_cryptography(common_name, days)
        except ImportError:
            cert_pem, key_pem = _client_certificate_openssl(common_name, days)
        _write_private(key_path, key_pem)
        with open(cert_path, "wb") as fh:
            fh.write(cert_pem)
    pem = certificate_pem(cert_path)
    return {
        "cert": cert_path,
        "key": key_path,
        "fingerprint": certificate_fingerprint(pem),
        "certificate": pem,
        "created": created,
    }


def plan_remote_trusted(api, password=None, token=None, name=None):
    """The :class:`Plan` that gets this client's certificate trusted by an HTTPS server:
    ``POST /1.0/certificates`` with the trust ``password`` or a trust ``token`` (as
    ``trust_token`` on Incus and where the server has the ``explicit_trust_token``
    extension, else as the password, which LXD 5.0's ``certificate_token`` extension
    reads), then a read of ``/1.0`` to see that the server trusts it now. Nothing to do
    for a client already trusted. A password for a server that has no password trust
    (Incus, LXD 6.1+) is refused (ValueError) before it is sent; a refused secret raises
    :class:`APIForbiddenException` saying what the server may have meant.
    """
    if bool(password) == bool(token):
        raise ValueError("give a trust password or a trust token (one of them)")
    plan = Plan(name or "client")
    api._server = None
    if api.server.get("auth") == "trusted":  # a socket client always is
        return plan
    client_fingerprint(api)  # an untrusted client: it needs HTTPS and a certificate
    body = {"type": "client"}
    if name:
        body["name"] = check_name(name, "name")
    if password and not api.takes_trust_password:
        raise ValueError(
            f"{api.server_label} at {api.display_endpoint} has no trust password (it trusts "
            "clients by token): make a token "
            "there (lxdapi.certificate_token_create, or 'incus config trust add') and "
            "pass token="
        )
    if password:
        body["password"] = str(password)
    elif api.server_kind == "incus" or api.has_extension("explicit_trust_token"):
        body["trust_token"] = str(token)
    elif api.has_extension("certificate_token"):
        body["password"] = str(token)
    else:
        raise APIException(
            error=(
                f"{api.server_label} at {api.display_endpoint} does not take trust tokens (no "
                "certificate_token "
                "API extension); use its trust password"
            )
        )
    secret = "password" if password else "token"
    plan.add("trusted", False, True)
    plan.writes.append(
        Write(
            "POST",
            "certificates",
            body,
            keys=("trusted",),
            explain=lambda api, exc: _refused_trust(api, exc, secret),
        )
    )
    plan.writes.append(
        Step(
            f"check that {api.display_endpoint} trusts this client",
            lambda: _check_trusted(api),
            ("trusted",),
        )
    )
    return plan


def client_fingerprint(api):
    """The fingerprint of the client certificate ``api`` presents (ValueError when it
    presents none, or does not speak HTTPS: trust is for HTTPS clients)."""
    if not api.endpoint.startswith("https://"):
        raise ValueError(f"authenticate needs an HTTPS endpoint, not {api.display_endpoint}")
    cert = api.session.cert[0] if isinstance(api.session.cert, tuple) else api.session.cert
    if not cert:
        raise ValueError(
            "authenticate needs a client certificate and key (cert= and key=, "
            "or the remote's settings); lxdapi.client_certificate_create makes "
            "them"
        )
    return certificate_fingerprint(cert)


def _refused_trust(api, exc, secret):
    """``exc`` (the server refused the trust request) in words that say what it means."""
    if isinstance(exc, APIForbiddenException):
        # LXD 6.1 ignores a password and answers 403 as it does to a wrong one; an
        # untrusted client cannot tell the two apart (no extension marks the removal).
        hint = (
            " (a wrong password; or LXD 6.1 or later, which takes no passwords: use a trust token)"
            if secret == "password"
            else ""
        )
        return reword(
            exc,
            f"{api.server_label} at {api.display_endpoint} refused the trust {secret}: the client "
            f"stays untrusted{hint}",
        )
    if secret == "password" and exc.status == 501:  # LXD 6.2 and later
        return reword(
            exc,
            f"{api.server_label} at {api.display_endpoint} no longer takes trust passwords "
            f"({exc.error}): make a trust token there "
            "(lxdapi.certificate_token_create, or 'lxc config trust add') and pass "
            "token=",
        )
    return exc


def _check_trusted(api):
    """Read ``/1.0`` again: the server must trust this client now."""
    api._server = None
    if api.server.get("auth") != "trusted":
        raise APIForbiddenException(
            method="POST",
            url=api.absolute_url("certificates"),
            error=(
                f"{api.server_label} at {api.display_endpoint} took the certificate but still "
                "does not trust this client"
            ),
        )


def authenticate(api, password=None, token=None, name=None):
    """Get this client's certificate trusted by an HTTPS server (see
    :func:`plan_remote_trusted`): the plan, applied.

    Returns ``{"trusted": True, "changed": bool, "fingerprint": ...}`` (the fingerprint
    of the client certificate; None for a socket client, trusted without one); an
    already trusted client changes nothing. A refused secret raises
    :class:`APIForbiddenException`.
    """
    plan = plan_remote_trusted(api, password=password, token=token, name=name)
    plan.apply(api)
    presents = api.endpoint.startswith("https://") and api.session.cert
    return {
        "trusted": True,
        "changed": bool(plan.writes),
        "fingerprint": client_fingerprint(api) if presents else None,
    }
