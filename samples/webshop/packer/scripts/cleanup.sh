#!/usr/bin/env bash
# Last step of every bake: leave nothing host-specific in the AMI.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get autoremove -y -q
apt-get clean
rm -rf /var/lib/apt/lists/*

# Each instance must generate its own SSH host keys and machine id.
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id

# Logs and shell history of the build.
find /var/log -type f -name '*.log' -exec truncate -s 0 {} +
rm -f /root/.bash_history /home/admin/.bash_history
cloud-init clean --logs || true
