#!/usr/bin/env bash
# A real OpenLDAP for the LDAP sign-in test (internal/identity/ldap_test.go):
# slapd on loopback high ports, LDAPS and StartTLS with a test CA made here,
# plain operations refused (security ssf=71), a service account, people and groups
# seeded, the memberof overlay on. Runs as root.
#
#   eval "$(scripts/slapd-test.sh env)"   # install if missing, start, print the test's variables
#   scripts/slapd-test.sh stop
#
# Settings: SPORTELLO_SLAPD_DIR (default /tmp/sportello-slapd),
# SPORTELLO_SLAPD_LDAPS_PORT (31636), SPORTELLO_SLAPD_LDAP_PORT (31389).
# Only the export lines go to stdout; everything else goes to stderr.
set -euo pipefail

dir=${SPORTELLO_SLAPD_DIR:-/tmp/sportello-slapd}
ldaps_port=${SPORTELLO_SLAPD_LDAPS_PORT:-31636}
ldap_port=${SPORTELLO_SLAPD_LDAP_PORT:-31389}
suffix="dc=sportello,dc=test"
admin_pw=sportello-slapd-admin
service_dn="cn=sportello,ou=services,$suffix"
service_pw=sportello-slapd-service
# Every seeded person has this password.
user_pw=Password-di-prova-1

log() { echo "slapd-test: $*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		log "run as root"
		exit 1
	fi
}

install() {
	if [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null && command -v openssl >/dev/null; then
		return
	fi
	log "installing slapd, ldap-utils and openssl"
	# Keep the package from starting (and configuring) the system-wide service.
	local policy=/usr/sbin/policy-rc.d created=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >&2 ||
		{ apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >&2; }
	[ -n "$created" ] && rm -f "$policy"
	return 0
}

running() {
	local pid
	pid=$(cat "$dir/slapd.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

certs() {
	# A test CA and a server certificate for 127.0.0.1 and localhost.
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Sportello test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
		-extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
	chmod 600 "$dir/server.key"
}

seed() {
	cat <<LDIF
dn: $suffix
objectClass: dcObject
objectClass: organization
dc: sportello
o: Provincia di prova

dn: ou=services,$suffix
objectClass: organizationalUnit
ou: services

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people

dn: ou=groups,$suffix
objectClass: organizationalUnit
ou: groups

dn: $service_dn
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: sportello
userPassword: $service_pw

dn: uid=mrossi,ou=people,$suffix
objectClass: inetOrgPerson
uid: mrossi
cn: Mario Rossi
sn: Rossi
givenName: Mario
displayName: Mario Rossi
mail: mario.rossi@provincia.test
telephoneNumber: +39 0831 565111
departmentNumber: Servizio Sistemi Informativi
userPassword: $user_pw

dn: uid=lbianchi,ou=people,$suffix
objectClass: inetOrgPerson
uid: lbianchi
cn: Lucia Bianchi
sn: Bianchi
displayName: Lucia Bianchi
mail: lucia.bianchi@altro.test
departmentNumber: Ufficio Protocollo
userPassword: $user_pw

dn: uid=gverdi,ou=people,$suffix
objectClass: inetOrgPerson
uid: gverdi
cn: Giuseppe Verdi
sn: Verdi
mail: giuseppe.verdi@provincia.test
userPassword: $user_pw

dn: uid=nomail,ou=people,$suffix
objectClass: inetOrgPerson
uid: nomail
cn: Senza Posta
sn: Posta
userPassword: $user_pw

dn: cn=helpdesk,ou=groups,$suffix
objectClass: groupOfNames
cn: helpdesk
member: uid=mrossi,ou=people,$suffix

dn: cn=it-managers,ou=groups,$suffix
objectClass: groupOfNames
cn: it-managers
member: uid=lbianchi,ou=people,$suffix

dn: cn=altro-ente-staff,ou=groups,$suffix
objectClass: groupOfNames
cn: altro-ente-staff
member: uid=lbianchi,ou=people,$suffix

dn: cn=firewall-approvers,ou=groups,$suffix
objectClass: posixGroup
cn: firewall-approvers
gidNumber: 5001
memberUid: gverdi
LDIF
}

start() {
	need_root
	install
	if running; then
		log "already running in $dir"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir/db"
	certs
	local rootpw
	rootpw=$(slappasswd -s "$admin_pw")
	cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server.key
# No operation without TLS (ldapi, the local socket used to seed, counts
# as secure); no anonymous binds.
security ssf=71
disallow bind_anon
require authc

database mdb
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw $rootpw
directory $dir/db
maxsize 104857600
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to *
	by dn.exact="$service_dn" read
	by self read
	by * none
CONF
	local sock
	sock=$(printf '%s/ldapi' "$dir" | sed 's,/,%2F,g')
	log "starting slapd in $dir (LDAPS 127.0.0.1:$ldaps_port, StartTLS 127.0.0.1:$ldap_port)"
	/usr/sbin/slapd -f "$dir/slapd.conf" -h "ldaps://127.0.0.1:$ldaps_port/ ldap://127.0.0.1:$ldap_port/ ldapi://$sock" \
		</dev/null >"$dir/slapd.log" 2>&1
	for _ in $(seq 1 50); do
		if ldapsearch -x -H "ldapi://$sock" -D "cn=admin,$suffix" -w "$admin_pw" -s base -b "" >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	seed | ldapadd -x -H "ldapi://$sock" -D "cn=admin,$suffix" -w "$admin_pw" >/dev/null || {
		log "seeding failed; slapd log:"
		cat "$dir/slapd.log" >&2 || true
		stop
		exit 1
	}
}

stop() {
	local pid
	pid=$(cat "$dir/slapd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		# Wait for it to let go of its ports before anything restarts it.
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		log "stopped"
	fi
}

case "${1:-env}" in
env)
	start
	echo "export SPORTELLO_TEST_SLAPD=1"
	echo "export SPORTELLO_TEST_SLAPD_LDAPS=ldaps://127.0.0.1:$ldaps_port"
	echo "export SPORTELLO_TEST_SLAPD_LDAP=ldap://127.0.0.1:$ldap_port"
	echo "export SPORTELLO_TEST_SLAPD_CA=$dir/ca.pem"
	echo "export SPORTELLO_TEST_SLAPD_BASE=$suffix"
	echo "export SPORTELLO_TEST_SLAPD_BIND_DN=$service_dn"
	echo "export SPORTELLO_TEST_SLAPD_BIND_PASSWORD=$service_pw"
	echo "export SPORTELLO_TEST_SLAPD_USER_PASSWORD=$user_pw"
	;;
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 [env|start|stop]" >&2
	exit 2
	;;
esac
