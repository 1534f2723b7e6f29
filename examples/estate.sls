# A small LXD estate in one SLS: a network, a storage volume, a profile that uses both,
# three containers made at once from it (the one written into waited for until it is
# ready), and inside one of them a folder, a templated file and a guarded command. Apply it twice: the second run changes nothing.
#
#   salt-call --local state.apply estate pillar='{"estate": {"prefix": "demo"}}'
#
# Needs the busybox image under the alias ``busybox`` (make demo imports one as
# demo-busybox; set ``estate:image`` to use another alias).
{% set prefix = salt['pillar.get']('estate:prefix', 'estate') %}
{% set image = salt['pillar.get']('estate:image', 'busybox') %}

{{ prefix }}-br:
  lxdapi.network_present:
    - config:
        ipv4.address: none
        ipv6.address: none
    - description: the estate's bridge (no addresses)

{{ prefix }}-data:
  lxdapi.storage_volume_present:
    - pool: default
    - config:
        user.owner: {{ prefix }}

{{ prefix }}-profile:
  lxdapi.profile_present:
    - description: the estate's containers
    - config:
        limits.processes: 200
    - devices:
        eth0: {type: nic, network: {{ prefix }}-br, name: eth0}
    - require:
      - lxdapi: {{ prefix }}-br

{{ prefix }}-containers:
  lxdapi.containers_present:
    - defaults:
        source: {{ image }}
        profiles: [default, {{ prefix }}-profile]
        status: Running
    - containers:
        {{ prefix }}-web1: {config: {user.role: web}}
        {{ prefix }}-web2: {config: {user.role: web}}
        {{ prefix }}-db:
          config: {user.role: db}
          devices:
            data: {type: disk, pool: default, source: {{ prefix }}-data, path: /data}
          # The states below write into /data: wait until it is there, writable.
          wait_for: {exec: [test, -w, /data], timeout: 30}
    - require:
      - lxdapi: {{ prefix }}-profile
      - lxdapi: {{ prefix }}-data

{{ prefix }}-db-conf:
  lxdapi.file_managed:
    - container: {{ prefix }}-db
    - name: /data/conf/db.ini
    - makedirs: True
    - contents: |
        [db]
        role = {{ '{{ role }}' }}
        host = {{ '{{ grains["id"] }}' }}
    - template: jinja
    - context:
        role: primary
    - mode: '0640'
    - require:
      - lxdapi: {{ prefix }}-containers

{{ prefix }}-db-init:
  lxdapi.container_exec:
    - container: {{ prefix }}-db
    - command: [sh, -c, 'echo initialised > /data/initialised']
    - creates_path: /data/initialised
    - require:
      - lxdapi: {{ prefix }}-db-conf

{{ prefix }}-db-snapshot:
  lxdapi.snapshot_present:
    - container: {{ prefix }}-db
    - name: after-init
    - require:
      - lxdapi: {{ prefix }}-db-init
