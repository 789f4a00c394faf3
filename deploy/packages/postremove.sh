#!/bin/sh
# mattermost-exporter package: after removal (deb postrm, rpm %postun). Reloads systemd; a deb
# purge also deletes the users id cache (StateDirectory). The system user stays (Debian's
# custom: files it owned elsewhere keep a name).
set -e
root=${DPKG_ROOT:-}
if [ "${1:-}" = purge ]; then
	rm -rf "$root/var/lib/mattermost_exporter" "$root/var/lib/private/mattermost_exporter"
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
