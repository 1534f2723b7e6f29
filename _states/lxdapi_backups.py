"""``lxdapi.*`` states of backups: an instance's backups exported to a local folder, one
per period of a strftime pattern, kept by a retention policy (``backup_exported``).

Core: ``_utils/lxdapi_retention.py`` (the policy and the plan) and
``_utils/lxdapi_backups.py`` (the export).
"""

import lxdapi_loader

boundary = lxdapi_loader.salt_boundary(__file__, globals())

import lxdapi_retention

__virtualname__ = "lxdapi"


def __virtual__():
    return boundary.virtual(__virtualname__, needs="lxdapi.request")


def backup_exported(
    name,
    container,
    folder,
    pattern=lxdapi_retention.BACKUP_PATTERN,
    keep=None,
    max_age=None,
    match=None,
    compression=None,
    instance_only=False,
    optimized_storage=False,
    **connection,
):
    """
    Ensure today's backup of an instance is in a local folder (exported if its file is
    missing), and that the older backup files of the pattern fall within a retention
    policy (those that fall out of it are deleted).

    The file's name is ``pattern`` with ``{container}`` replaced by the instance's name,
    then expanded as strftime in UTC (``web1-20261206.tar.gz`` on 6 December 2026;
    directives ``%Y %y %m %d %H %M %S %j``). When that file is missing, the instance is
    exported as ``lxdapi.container_backup_export`` does it: LXD makes a backup, it is
    streamed to a temporary file in the folder, renamed when complete (0600), and the
    server's backup deleted. An existing file is never exported again. Then the files
    of the folder whose names match the pattern (or ``match``) and fall out of
    ``keep``/``max_age`` are deleted, in the same plan (``test=True`` lists both). Other
    files, folders and symbolic links are never touched. A file's time is the date in
    its name when the pattern has a year (``%Y``, ``%y``), else its modification time.
    Without ``keep`` and ``max_age`` nothing is deleted.

    name
        The state's ID (any text).

    container
        The instance's name.

    folder
        Absolute path of an existing local folder (on the minion) for the backups.

    pattern
        The backup file's name: ``{container}`` and strftime directives (default
        ``{container}-%Y%m%d.tar.gz``, one a day); no ``/``.

    keep
        Keep the newest ``keep`` files of the pattern (today's counts), delete older
        ones (a whole number, at least 1); None: no limit by number.

    max_age
        Delete the files of the pattern older than this: ``7d``, ``12h``, ``30m``,
        ``2w``, ``1d12h`` or a number of seconds; None: no limit by age.

    match
        A glob (``web1-*.tar.gz``) naming the files the policy may delete, instead of
        the pattern turned into a matcher; today's file name must match it.

    compression
        ``gzip`` (LXD's default), ``bzip2``, ``xz``, ``zstd``, ``lz4`` or ``none``; the
        pattern's extension is not checked against it.

    instance_only
        True to leave the instance's snapshots out of the backup (default False).

    optimized_storage
        True for the storage driver's own format (faster, restorable only on a pool of
        the same driver; default False).

    connection
        ``project`` and the other connection settings.

    CLI Example:

    .. code-block:: yaml

        web1-backups:
          lxdapi.backup_exported:
            - container: web1
            - folder: /srv/backups
            - keep: 7
            - max_age: 30d
    """

    def what(plan):
        return f"Backup {plan.name} of {container!r}"

    return boundary.converge(
        name,
        connection,
        lambda api: lxdapi_retention.plan_backup_exported(
            api,
            container,
            folder,
            pattern,
            keep=keep,
            max_age=max_age,
            match=match,
            compression=compression,
            instance_only=instance_only,
            optimized_storage=optimized_storage,
        ),
        lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
        lambda plan: lxdapi_retention.retention_comment(plan, what(plan)),
        would=lambda plan: lxdapi_retention.retention_comment(plan, what(plan), testing=True),
    )
