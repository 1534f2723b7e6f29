# The lxdapi demo: one image, two containers made from it, an alias, and a folder, a
# templated file and a guarded command inside the running container.
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
    # Running is not ready: the states below write into it once its init runs and the
    # host folder is mounted (a real guest would wait for an address or a service).
    - wait_for:
        exec: [test, -d, /mnt/host-tmp]
        timeout: 30
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

# Inside the running container: a folder, a file rendered from a Jinja template, and a
# command guarded by the file it creates (so the second run runs nothing).
demo-app-folder:
  lxdapi.directory_present:
    - container: demo-web
    - name: /srv/app
    - mode: '0750'
    - makedirs: True
    - require:
      - lxdapi: demo-web

demo-motd:
  lxdapi.file_managed:
    - container: demo-web
    - name: /etc/motd
    - source: salt://demo-motd.j2
    - template: jinja
    - context:
        role: web
    - mode: '0644'
    - require:
      - lxdapi: demo-web

demo-ready:
  lxdapi.container_exec:
    - container: demo-web
    - command: [sh, -c, 'date > /srv/app/ready']
    - creates_path: /srv/app/ready
    - require:
      - lxdapi: demo-app-folder
