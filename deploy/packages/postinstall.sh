#!/bin/sh
# mattermost-exporter package: after install or upgrade (deb postinst configure, rpm %post).
# Makes the system user and tells systemd about the unit. It neither enables nor starts the
# service: the Mattermost URL (/etc/default or /etc/sysconfig/mattermost_exporter) and the token
# (/etc/mattermost_exporter/token) must be set first, then `systemctl enable --now
# mattermost_exporter`. An upgrade restarts an exporter that is running.
# DPKG_ROOT is set when dpkg installs into another root (dpkg --root --force-script-chrootless).
set -e
root=${DPKG_ROOT:-}

if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers ${root:+--root="$root"} mattermost_exporter.conf
elif ! grep -q '^mattermost_exporter:' "$root/etc/passwd" 2>/dev/null; then
	useradd ${root:+--root "$root"} --system --user-group --no-create-home \
		--home-dir /var/lib/mattermost_exporter --shell /usr/sbin/nologin \
		--comment "Prometheus exporter for Mattermost" mattermost_exporter
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	systemctl try-restart mattermost_exporter.service || true
fi
