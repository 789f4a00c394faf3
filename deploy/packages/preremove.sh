#!/bin/sh
# mattermost-exporter package: before removal (deb prerm remove, rpm %preun with 0 left).
# Stops and disables the service; an upgrade (deb prerm upgrade, rpm %preun 1) leaves it running.
set -e
case "${1:-}" in
remove | 0)
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --no-reload disable --now mattermost_exporter.service || true
	fi
	;;
esac
