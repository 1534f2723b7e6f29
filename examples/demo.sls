# The lxdapi demo: one image, two containers made from it, and an alias.
# Applied by examples/demo.py (``make demo``) with:
#   salt-call --local -c examples/build/salt state.apply demo
# The image file is examples/build/busybox.tar.gz, built offline from busybox-static;
# the demo's file_roots make it salt://busybox.tar.gz.

demo-busybox:
  lxdapi.image_present:
    - source: salt://busybox.tar.gz
    - aliases:
      - demo-bb

demo-stable:
  lxdapi.image_alias_present:
    - target: demo-busybox
    - description: the busybox image the demo containers run
    - require:
      - lxdapi: demo-busybox

demo-web:
  lxdapi.container_present:
    - source: demo-busybox
    - profiles:
      - default
    - description: demo web server (busybox)
    - config:
        limits.memory: 64MB
        limits.processes: 200
        user.role: web
        environment.GREETING: hello
    - devices:
        host-tmp:
          type: disk
          source: /tmp
          path: /mnt/host-tmp
          readonly: true
    - status: Running
    - require:
      - lxdapi: demo-busybox

demo-worker:
  lxdapi.container_present:
    - source: demo-busybox
    - profiles:
      - default
    - description: demo worker, kept stopped
    - config:
        user.role: worker
        boot.autostart: false
        security.nesting: false
    - devices:
        scratch:
          type: disk
          source: /tmp
          path: /mnt/scratch
    - status: Stopped
    - require:
      - lxdapi: demo-busybox
