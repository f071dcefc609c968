#!/usr/bin/env bash
# A real Dovecot for the e-mail channel's end-to-end test
# (internal/mail/dovecot_test.go): IMAP and LMTP on loopback high ports,
# one passwd-file account, mail in a temporary directory. Runs as root.
# The same IMAP port on 127.0.0.2 offers neither IDLE nor MOVE, as older
# servers, so that the test covers polling and the COPY/EXPUNGE fallback.
# Several instances may run side by side with their own directory and ports.
#
#   eval "$(scripts/dovecot-test.sh env)"   # install if missing, start, print the test's variables
#   scripts/dovecot-test.sh stop
#
# Settings: SPORTELLO_DOVECOT_DIR (default /tmp/sportello-dovecot),
# SPORTELLO_DOVECOT_IMAP_PORT (31143), SPORTELLO_DOVECOT_LMTP_PORT (31024).
# Only the export lines go to stdout; everything else goes to stderr.
set -euo pipefail

dir=${SPORTELLO_DOVECOT_DIR:-/tmp/sportello-dovecot}
imap_port=${SPORTELLO_DOVECOT_IMAP_PORT:-31143}
lmtp_port=${SPORTELLO_DOVECOT_LMTP_PORT:-31024}
user=desk@example.it
password=sportello-dovecot-test
mailuser=sportello-mail

log() { echo "dovecot-test: $*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		log "run as root (Dovecot's master process needs it)"
		exit 1
	fi
}

install() {
	if command -v dovecot >/dev/null && [ -e /usr/lib/dovecot/imap ] && [ -e /usr/lib/dovecot/lmtp ]; then
		return
	fi
	log "installing dovecot-imapd and dovecot-lmtpd"
	# Keep the package from starting the system-wide service.
	local policy=/usr/sbin/policy-rc.d created=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq dovecot-imapd dovecot-lmtpd >&2 || { apt-get update -qq >&2 && apt-get install -y -qq dovecot-imapd dovecot-lmtpd >&2; }
	[ -n "$created" ] && rm -f "$policy"
	return 0
}

running() {
	[ -f "$dir/run/master.pid" ] && kill -0 "$(cat "$dir/run/master.pid")" 2>/dev/null
}

# config prints the server's configuration.
config() {
	cat <<CONF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
# LMTP to desk+FOLDER@example.it delivers into FOLDER (created on demand):
# each test run gets a folder of its own.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imap_old {
    address = 127.0.0.2
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
# Connections to 127.0.0.2 get a server without IDLE and MOVE.
local 127.0.0.2 {
  protocol imap {
    imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE UIDPLUS UNSELECT CHILDREN
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF
}

start() {
	need_root
	install
	if running; then
		if [ "$(config)" = "$(cat "$dir/dovecot.conf" 2>/dev/null)" ]; then
			log "already running in $dir"
			return
		fi
		log "running with an older configuration: restarting"
		stop
		for _ in $(seq 1 50); do running || break; sleep 0.1; done
	fi
	if ! id "$mailuser" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$mailuser"
	fi
	local uid gid
	uid=$(id -u "$mailuser")
	gid=$(id -g "$mailuser")
	rm -rf "$dir"
	mkdir -p "$dir/run" "$dir/state" "$dir/mail"
	chown "$uid:$gid" "$dir/mail"
	printf '%s:{PLAIN}%s:%s:%s::%s/mail/%s\n' "$user" "$password" "$uid" "$gid" "$dir" "$user" >"$dir/passwd"
	# Read by the auth process, which runs as the dovecot user.
	chgrp dovecot "$dir/passwd"
	chmod 640 "$dir/passwd"
	config >"$dir/dovecot.conf"
	log "starting Dovecot in $dir (IMAP 127.0.0.1:$imap_port, LMTP 127.0.0.1:$lmtp_port)"
	# No inherited output: the caller may be reading our stdout to its end.
	dovecot -c "$dir/dovecot.conf" </dev/null >/dev/null 2>&1
	for _ in $(seq 1 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$imap_port") 2>/dev/null; then
			return
		fi
		sleep 0.1
	done
	log "Dovecot did not start; its log:"
	cat "$dir/dovecot.log" >&2 || true
	exit 1
}

stop() {
	if running; then
		doveadm -c "$dir/dovecot.conf" stop 2>/dev/null || kill "$(cat "$dir/run/master.pid")"
		log "stopped"
	fi
}

case "${1:-env}" in
env)
	start
	echo "export SPORTELLO_TEST_DOVECOT=1"
	echo "export SPORTELLO_TEST_DOVECOT_IMAP=127.0.0.1:$imap_port"
	echo "export SPORTELLO_TEST_DOVECOT_IMAP_OLD=127.0.0.2:$imap_port"
	echo "export SPORTELLO_TEST_DOVECOT_LMTP=127.0.0.1:$lmtp_port"
	echo "export SPORTELLO_TEST_DOVECOT_USER=$user"
	echo "export SPORTELLO_TEST_DOVECOT_PASSWORD=$password"
	;;
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 [env|start|stop]" >&2
	exit 2
	;;
esac
