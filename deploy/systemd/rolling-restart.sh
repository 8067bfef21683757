#!/usr/bin/env bash
# Rolling restart of the app processes under systemd, while a hearing is live: one
# wenzheng-app@PORT at a time is marked `down` in the nginx site's upstream (reload: nothing new
# reaches it), restarted (systemd's SIGTERM drains it: every socket is closed with 1012 and its
# clients reconnect to the other processes and resume; what they had queued is stored), waited
# for (/readyz), and put back in the same reload that takes the next one out. Then the task
# worker restarts. The procedure of `scripts/stack restart --rolling` (deploy/stack.py); see
# docs/deploy.md, "Rolling restart".
#
#   sudo deploy/systemd/rolling-restart.sh                  # every active wenzheng-app@PORT
#   sudo PORTS="8101 8102" deploy/systemd/rolling-restart.sh
#   sudo SITE=/etc/nginx/sites-available/wenzheng.conf deploy/systemd/rolling-restart.sh
set -euo pipefail

SITE=${SITE:-/etc/nginx/sites-available/wenzheng.conf}
NGINX_PID=${NGINX_PID:-/run/nginx.pid}
SERVER_UP="max_fails=1 fail_timeout=5s;"  # deploy/stack.py upstream_line
SERVER_DOWN="down;"

# upstream PORT down|up: mark that app process's `server` line in the site's upstream.
upstream() {
  local port=$1 from=$SERVER_UP to=$SERVER_DOWN
  if [ "$2" = up ]; then from=$SERVER_DOWN to=$SERVER_UP; fi
  sed -i -E "s/^( *server 127\.0\.0\.1:${port}) ${from}\$/\1 ${to}/" "$SITE"
  grep -Eq "^ *server 127\.0\.0\.1:${port} ${to}\$" "$SITE" || {
    echo "no 'server 127.0.0.1:${port}' line in ${SITE}" >&2
    exit 1
  }
}

# nginx's workers that take new connections (not the old ones finishing their sockets).
workers() {
  pgrep -P "$(cat "$NGINX_PID")" -f 'worker process$' | sort || true
}

# Test the site, reload nginx, and wait until only new workers take connections: from then on
# nothing new reaches a process marked down. The old workers keep the sockets they hold.
reload() {
  nginx -t -q
  local before now
  before=$(workers)
  systemctl reload nginx
  for _ in $(seq 100); do
    now=$(workers)
    if [ -n "$now" ] && [ -z "$(comm -12 <(echo "$before") <(echo "$now"))" ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "nginx did not reload within 20 s" >&2
  exit 1
}

# Wait until the process on PORT answers /readyz (database and Redis reachable).
ready() {
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz"; then
      return 0
    fi
    sleep 0.2
  done
  echo "wenzheng-app@$1 is not ready after 60 s (journalctl -u wenzheng-app@$1)" >&2
  exit 1
}

main() {
  local ports
  ports=${PORTS:-$(systemctl list-units 'wenzheng-app@*.service' --state=active --plain --no-legend |
    sed -E 's/^wenzheng-app@([0-9]+)\.service.*/\1/')}
  # shellcheck disable=SC2086
  set -- $ports
  if [ $# -lt 2 ]; then
    echo "fewer than two app processes: no other to take the sockets (plain: systemctl restart wenzheng-app@PORT)" >&2
    exit 1
  fi
  upstream "$1" down
  reload
  while [ $# -gt 0 ]; do
    local port=$1
    shift
    systemctl restart "wenzheng-app@${port}.service"  # stop = SIGTERM = drain; then start
    ready "$port"
    upstream "$port" up
    if [ $# -gt 0 ]; then
      upstream "$1" down
    fi
    reload
    echo "wenzheng-app@${port}: restarted and back in the upstream"
  done
  systemctl restart wenzheng-worker.service
  echo "wenzheng-worker: restarted"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
