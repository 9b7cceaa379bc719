#!/bin/sh
# Deletes expired session files. Run by cron every 15 minutes.
set -eu
[ -r /etc/webshop/batch.env ] && . /etc/webshop/batch.env
SESSION_DIR=${SESSION_DIR:-/var/lib/webshop/sessions}
SESSION_MAX_AGE_MINUTES=${SESSION_MAX_AGE_MINUTES:-120}

if [ ! -d "$SESSION_DIR" ]; then
    echo "$(date -Is) cleanup_sessions: $SESSION_DIR does not exist; nothing to do"
    exit 0
fi
count=$(find "$SESSION_DIR" -type f -name 'sess_*' -mmin "+$SESSION_MAX_AGE_MINUTES" -print -delete | wc -l)
echo "$(date -Is) cleanup_sessions: removed $count expired sessions from $SESSION_DIR"
