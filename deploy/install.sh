#!/usr/bin/env bash
# Gatehouse installer: install, upgrade and uninstall on a Debian 12 / Ubuntu
# 24.04 machine (or into a scratch root directory for testing and images).
#
#   deploy/install.sh install   [--root DIR] [--with-unbound] [--admin NAME --admin-password-file FILE]
#   deploy/install.sh upgrade   [--root DIR] [--with-unbound]
#   deploy/install.sh uninstall [--root DIR] [--purge]
#
# Run it from a built source tree (dist/ present: `npm ci && npm run build`).
# Every action can be repeated safely. Config (/etc/gatehouse) and data
# (/var/lib/gatehouse) are never overwritten; uninstall keeps them unless
# --purge is given. --with-unbound also sets up unbound on 127.0.0.1:5335 as
# the local recursive resolver of the primary link (deploy/unbound.conf).
# See docs/operations.md.
set -euo pipefail

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$SCRIPT_DIR/.." && pwd)
ROOT=/
ACTION=
PURGE=no
WITH_UNBOUND=no
ADMIN_NAME=
ADMIN_PASSWORD_FILE=
SKIP_NODE_MODULES=${GATEHOUSE_SKIP_NODE_MODULES:-0}
NODE=${GATEHOUSE_NODE:-}
SERVICE_USER=gatehouse
MIN_NODE_MAJOR=20

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
usage: $PROG install|upgrade|uninstall [options]

  install      install or repair: program, config (if absent), data directory,
               service user, systemd unit (enabled and started); optionally the
               first admin account
  upgrade      replace the program and the unit; keep config and data; restart
               (and refresh unbound's Gatehouse config if it is set up)
  uninstall    stop and remove the program and the unit; keep config and data

options:
  --root DIR                  install under DIR instead of / (no user, no systemctl)
  --source DIR                built Gatehouse tree to install from (default: $SOURCE)
  --with-unbound              also install unbound (apt-get) as the local recursive
                              resolver on 127.0.0.1:5335, with deploy/unbound.conf
                              as /etc/unbound/unbound.conf.d/gatehouse.conf
  --admin NAME                create the first admin account with this name (install)
  --admin-password-file FILE  read that admin's password from FILE (first line)
  --purge                     uninstall: also delete config, data and the user
  --skip-node-modules         do not copy or install node_modules (for tests)
  -h, --help                  this text
EOF
}

parse_args() {
  [ $# -gt 0 ] || {
    usage >&2
    exit 2
  }
  ACTION=$1
  shift
  case $ACTION in
  install | upgrade | uninstall) ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    die "unknown action \"$ACTION\""
    ;;
  esac
  while [ $# -gt 0 ]; do
    case $1 in
    --root)
      [ $# -ge 2 ] || die "--root needs a directory"
      ROOT=$2
      shift 2
      ;;
    --root=*)
      ROOT=${1#--root=}
      shift
      ;;
    --source)
      [ $# -ge 2 ] || die "--source needs a directory"
      SOURCE=$(cd "$2" && pwd) || die "no such directory: $2"
      shift 2
      ;;
    --admin)
      [ $# -ge 2 ] || die "--admin needs a name"
      ADMIN_NAME=$2
      shift 2
      ;;
    --admin-password-file)
      [ $# -ge 2 ] || die "--admin-password-file needs a file"
      ADMIN_PASSWORD_FILE=$2
      shift 2
      ;;
    --purge)
      PURGE=yes
      shift
      ;;
    --with-unbound)
      WITH_UNBOUND=yes
      shift
      ;;
    --skip-node-modules)
      SKIP_NODE_MODULES=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option \"$1\" (see $PROG --help)" ;;
    esac
  done
  [ -n "$ROOT" ] || die "--root must not be empty"
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  if [ "$ACTION" != install ] && [ -n "$ADMIN_NAME" ]; then
    die "--admin only goes with install"
  fi
  if [ -n "$ADMIN_PASSWORD_FILE" ] && [ -z "$ADMIN_NAME" ]; then
    die "--admin-password-file needs --admin NAME"
  fi
  if [ "$PURGE" = yes ] && [ "$ACTION" != uninstall ]; then
    die "--purge only goes with uninstall"
  fi
  if [ "$WITH_UNBOUND" = yes ] && [ "$ACTION" = uninstall ]; then
    die "--with-unbound goes with install or upgrade"
  fi
}

# Paths inside the target root. P=/ gives /opt/gatehouse; P=/srv/img gives /srv/img/opt/gatehouse.
path_in_root() {
  if [ "$ROOT" = / ]; then printf '%s' "$1"; else printf '%s%s' "$ROOT" "$1"; fi
}

live_root() { [ "$ROOT" = / ]; }
systemd_running() { live_root && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

set_paths() {
  OPT=$(path_in_root /opt/gatehouse)
  ETC=$(path_in_root /etc/gatehouse)
  CONFIG=$ETC/gatehouse.yaml
  DATA=$(path_in_root /var/lib/gatehouse)
  UNIT_DIR=$(path_in_root /etc/systemd/system)
  UNIT=$UNIT_DIR/gatehouse.service
  WANTS_LINK=$UNIT_DIR/multi-user.target.wants/gatehouse.service
  BIN_LINK=$(path_in_root /usr/local/bin/gatehouse)
  UNBOUND_DIR=$(path_in_root /etc/unbound)
  UNBOUND_CONF=$UNBOUND_DIR/unbound.conf.d/gatehouse.conf
}

check_node() {
  if [ -z "$NODE" ]; then
    NODE=$(command -v node || true)
  fi
  if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then
    die "Node.js $MIN_NODE_MAJOR or newer is needed and \`node\` is not on PATH (Debian/Ubuntu: install Node.js 22 LTS from NodeSource or your distribution)"
  fi
  NODE=$(readlink -f "$NODE")
  local version major
  version=$("$NODE" -p 'process.versions.node') || die "cannot run $NODE"
  major=${version%%.*}
  [ "$major" -ge "$MIN_NODE_MAJOR" ] || die "Node.js $version is too old: Gatehouse needs $MIN_NODE_MAJOR or newer (22 LTS recommended)"
  [ "$major" -ge 22 ] || warn "Node.js $version works, but Node.js 20 is out of support since April 2026: move to 22 LTS"
  case $NODE in
  /home/* | /root/*)
    local problem="node is at $NODE, inside a home directory the service cannot read (ProtectHome=yes)"
    # Into a scratch root, the unit is only written, not run: say so and go on.
    if live_root; then die "$problem; install Node.js system-wide"; fi
    warn "$problem; the unit written under $ROOT will not start on a system like this one"
    ;;
  esac
  say "using Node.js $version at $NODE"
}

check_source() {
  [ -f "$SOURCE/dist/cli.js" ] || die "$SOURCE/dist/cli.js is missing: build first (npm ci && npm run build)"
  [ -f "$SOURCE/package.json" ] || die "$SOURCE/package.json is missing: is $SOURCE a Gatehouse tree?"
  [ -f "$SOURCE/systemd/gatehouse.service" ] || die "$SOURCE/systemd/gatehouse.service is missing"
  if [ ! -e "$CONFIG" ] && [ ! -f "$SOURCE/deploy/gatehouse.site.yaml" ]; then
    die "$SOURCE/deploy/gatehouse.site.yaml is missing: cannot create $CONFIG"
  fi
}

need_root_user() {
  if live_root && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo $PROG $ACTION ...), or use --root DIR to install into a directory"
  fi
}

# --- pieces -------------------------------------------------------------------

ensure_user() {
  if ! live_root; then
    say "not creating the '$SERVICE_USER' system user under --root $ROOT (create it in the target system: useradd --system --user-group --home-dir /var/lib/gatehouse --shell /usr/sbin/nologin $SERVICE_USER)"
    return
  fi
  if getent passwd "$SERVICE_USER" >/dev/null; then
    say "system user '$SERVICE_USER' exists"
  else
    useradd --system --user-group --home-dir /var/lib/gatehouse --no-create-home \
      --shell /usr/sbin/nologin --comment "Gatehouse DNS filter" "$SERVICE_USER"
    say "created system user '$SERVICE_USER'"
  fi
}

# chown only on a live system, where the user exists.
own() {
  if live_root; then chown "$@"; fi
}

# install_program [keep-previous]: stage the new tree beside the old one, then swap.
install_program() {
  local stage=$OPT.new previous=$OPT.previous keep=${1:-}
  rm -rf "$stage"
  mkdir -p "$stage"
  cp -a "$SOURCE/dist" "$stage/dist"
  cp -a "$SOURCE/package.json" "$stage/"
  local item
  for item in package-lock.json README.md LICENSE docs deploy systemd lists config; do
    if [ -e "$SOURCE/$item" ]; then cp -a "$SOURCE/$item" "$stage/"; fi
  done
  # The optional native UDP batching addon (docs/architecture.md): only the
  # built module, not node-gyp's intermediate files. Without it DNS still runs.
  if [ -f "$SOURCE/build/Release/udp_batch.node" ]; then
    mkdir -p "$stage/build/Release"
    cp -a "$SOURCE/build/Release/udp_batch.node" "$stage/build/Release/"
  else
    warn "build/Release/udp_batch.node is missing (npm install could not build it): DNS will use Node's slower UDP path"
  fi
  # The program tree needs no build scripts: without them `npm ci` and
  # `npm prune` here never try to run the TypeScript compiler. (The dependency
  # lists stay as they are, so package.json still matches package-lock.json.)
  "$NODE" -e '
    const fs = require("fs"); const f = process.argv[1];
    const p = JSON.parse(fs.readFileSync(f, "utf8")); delete p.scripts;
    fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' "$stage/package.json"
  chmod 0755 "$stage/dist/cli.js"

  if [ "$SKIP_NODE_MODULES" = 1 ]; then
    say "skipping node_modules (--skip-node-modules)"
  elif [ -d "$SOURCE/node_modules" ]; then
    say "copying node_modules from $SOURCE (offline), then removing development packages"
    cp -a "$SOURCE/node_modules" "$stage/node_modules"
    if (cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null); then
      find "$stage/node_modules" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    else
      warn "npm prune failed; the development packages stay in $OPT/node_modules (harmless, only larger)"
    fi
  else
    say "installing dependencies with npm ci --omit=dev (needs the npm registry)"
    (cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error) ||
      die "npm ci failed: run \`npm ci\` in $SOURCE (where the network is available) and re-run this installer"
  fi
  if [ -d "$stage/node_modules/better-sqlite3" ]; then
    (cd "$stage" && "$NODE" -e 'require("better-sqlite3")(":memory:").close()') ||
      die "better-sqlite3 does not load with $NODE (built for another Node.js version?): run \`npm rebuild better-sqlite3\` in $SOURCE and re-run"
  fi
  # The config the site already has must suit the new version before anything
  # is swapped: a rejected config stops here, with the old version untouched.
  if [ -e "$CONFIG" ] && has_command check-config "$stage"; then
    if ! "$NODE" "$stage/dist/cli.js" check-config --config "$CONFIG" >/dev/null 2>"$stage.check"; then
      cat "$stage.check" >&2
      rm -rf "$stage" "$stage.check"
      die "the new version rejects $CONFIG (above): nothing was changed; fix the config, then re-run \`$PROG $ACTION\`"
    fi
    rm -f "$stage.check"
  fi

  # Swap the new tree in. An upgrade keeps the version it replaces in
  # $OPT.previous for a quick rollback; a repeated install just replaces it.
  if [ -d "$OPT" ]; then
    if [ "$keep" = keep-previous ]; then
      rm -rf "$previous"
      mv "$OPT" "$previous"
    else
      rm -rf "$OPT"
    fi
  fi
  mv "$stage" "$OPT"
  chown -R root:root "$OPT" 2>/dev/null || true
  chmod 0755 "$OPT"
  say "program installed in $OPT ($(program_version "$OPT"))"

  mkdir -p "$(dirname "$BIN_LINK")"
  ln -sfn /opt/gatehouse/dist/cli.js "$BIN_LINK"
}

program_version() {
  "$NODE" -p 'require(process.argv[1] + "/package.json").version' "$1" 2>/dev/null || echo "unknown version"
}

install_config() {
  mkdir -p "$ETC"
  chmod 0750 "$ETC"
  own root:"$SERVICE_USER" "$ETC"
  if [ -e "$CONFIG" ]; then
    say "keeping existing config $CONFIG"
  else
    local example=$SOURCE/deploy/gatehouse.site.yaml
    [ -f "$example" ] || die "$example is missing: cannot create $CONFIG"
    cp "$example" "$CONFIG"
    chmod 0640 "$CONFIG"
    own root:"$SERVICE_USER" "$CONFIG"
    say "created $CONFIG from deploy/gatehouse.site.yaml: edit it for this site (networks, links, alerts), then: systemctl reload gatehouse"
  fi
}

# Local list files the config names (file:/etc/gatehouse/lists/iwf.txt and the
# like) that are not there yet. The IWF and CTIRU lists are never shipped: the
# school gets them from its IWF-member provider and puts them there.
check_list_files() {
  local lists=$ETC/lists missing=() source path
  mkdir -p "$lists"
  chmod 0750 "$lists"
  own root:"$SERVICE_USER" "$lists"
  while IFS= read -r source; do
    path=${source#file:}
    case $path in /*) ;; *) continue ;; esac
    [ -e "$(path_in_root "$path")" ] || missing+=("$path")
  done < <(grep -oE '^[^#]*file:[^" ,}]+' "$CONFIG" | grep -oE 'file:[^" ,}]+' || true)
  if [ ${#missing[@]} -gt 0 ]; then
    warn "list files named in $CONFIG are missing (until they are there, those lists are not applied and an alert says so):"
    local m
    for m in "${missing[@]}"; do printf '    %s\n' "$m" >&2; done
    warn "the IWF and CTIRU lists come from your IWF-member filtering provider; put them in /etc/gatehouse/lists/ (root:$SERVICE_USER, 0640), then: systemctl reload gatehouse"
  fi
}

# systemd-resolved's stub listener holds 127.0.0.53:53, so Gatehouse cannot
# bind the wildcard address on port 53 while it runs.
check_port53() {
  live_root || return 0
  if grep -qE '^[[:space:]]*listen:.*"(0\.0\.0\.0|\[::\]):53"' "$CONFIG" &&
    systemd_running && systemctl is-active --quiet systemd-resolved.service; then
    warn "dns.listen has a wildcard address on port 53 and systemd-resolved's stub listener is running: list this machine's LAN address (e.g. \"10.0.0.2:53\") instead, or turn the stub off (DNSStubListener=no in /etc/systemd/resolved.conf.d/gatehouse.conf, then systemctl restart systemd-resolved). See docs/operations.md"
  fi
}

install_data() {
  mkdir -p "$DATA"
  chmod 0750 "$DATA"
  own "$SERVICE_USER:$SERVICE_USER" "$DATA"
  say "data directory $DATA"
}

install_unit() {
  mkdir -p "$UNIT_DIR/multi-user.target.wants"
  # The unit names /usr/bin/node; point it at the node this installer checked.
  sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" "$SOURCE/systemd/gatehouse.service" >"$UNIT.tmp"
  chmod 0644 "$UNIT.tmp"
  mv "$UNIT.tmp" "$UNIT"
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable gatehouse.service >/dev/null 2>&1
    say "systemd unit installed and enabled"
  else
    # What `systemctl enable` does, for a root with no running systemd.
    ln -sfn /etc/systemd/system/gatehouse.service "$WANTS_LINK"
    say "systemd unit installed in $UNIT and enabled (no running systemd here: not started)"
  fi
}

# True when the installed program has `gatehouse <name>`.
# has_command NAME [TREE]: true when the program in TREE (default $OPT) has `gatehouse NAME`.
has_command() {
  "$NODE" "${2:-$OPT}/dist/cli.js" --help 2>/dev/null | grep -qE "^  $1( |$)"
}

run_as_service_user() {
  runuser -u "$SERVICE_USER" -- "$NODE" /opt/gatehouse/dist/cli.js "$@"
}

create_admin() {
  local name=$ADMIN_NAME
  if [ -z "$name" ]; then
    if [ -t 0 ] && live_root; then
      read -r -p "Name for the first admin account (empty to skip): " name || name=
    fi
    [ -n "$name" ] || {
      say "no admin account created; later: sudo -u $SERVICE_USER gatehouse user add --config /etc/gatehouse/gatehouse.yaml --name NAME --role admin"
      return
    }
  fi
  if ! live_root; then
    say "not creating admin '$name' under --root $ROOT; on the target: sudo -u $SERVICE_USER gatehouse user add --config /etc/gatehouse/gatehouse.yaml --name $name --role admin"
    return
  fi
  if ! has_command user; then
    warn "this build has no \`gatehouse user\` command yet; create the admin once it has one"
    return
  fi
  local args=(user add --config /etc/gatehouse/gatehouse.yaml --name "$name" --role admin)
  if [ -n "$ADMIN_PASSWORD_FILE" ]; then
    [ -r "$ADMIN_PASSWORD_FILE" ] || die "cannot read $ADMIN_PASSWORD_FILE"
    # The password goes in on standard input (the gatehouse user may not be able
    # to read the file), never on a command line, where ps would show it.
    if head -n 1 "$ADMIN_PASSWORD_FILE" | run_as_service_user "${args[@]}"; then
      say "created admin '$name'"
    else
      warn "could not create admin '$name' (it may exist already; see the message above)"
    fi
  elif run_as_service_user "${args[@]}"; then
    say "created admin '$name'"
  else
    warn "could not create admin '$name' (it may exist already; see the message above)"
  fi
}

check_config() {
  if has_command check-config; then
    if live_root; then
      run_as_service_user check-config --config /etc/gatehouse/gatehouse.yaml ||
        die "$CONFIG has errors (above): fix them, then re-run \`$PROG $ACTION\`"
    else
      "$NODE" "$OPT/dist/cli.js" check-config --config "$CONFIG" >/dev/null 2>&1 ||
        warn "$CONFIG does not validate here (paths in it are for the target system): check it there with gatehouse check-config"
    fi
  fi
}

backup_before_upgrade() {
  live_root || return 0
  [ -d "$OPT" ] || return 0
  if has_command backup; then
    local file
    file=/var/lib/gatehouse/backups/pre-upgrade-$(date -u +%Y%m%dT%H%M%SZ).db
    runuser -u "$SERVICE_USER" -- mkdir -p /var/lib/gatehouse/backups
    if run_as_service_user backup --config /etc/gatehouse/gatehouse.yaml "$file"; then
      say "backup before upgrade: $file"
    else
      die "backup before upgrade failed: nothing was changed"
    fi
  fi
}

start_or_restart() {
  if systemd_running; then
    if systemctl is-active --quiet gatehouse.service; then
      systemctl restart gatehouse.service
      say "service restarted"
    else
      systemctl start gatehouse.service
      say "service started"
    fi
    systemctl --no-pager --lines=5 status gatehouse.service || true
  fi
}

# --- unbound, the local recursive resolver (--with-unbound) -------------------

# Where Debian's unbound keeps the root trust anchor, updated by unbound itself
# (RFC 5011) and seeded from the dns-root-data package.
UNBOUND_ANCHOR=/var/lib/unbound/root.key

have_unbound() { command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ]; }

ensure_unbound_package() {
  if ! live_root; then
    say "not installing the unbound package under --root $ROOT (in the target system: apt-get install unbound dns-root-data)"
    return
  fi
  if have_unbound; then
    say "unbound is installed"
    return
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "unbound is not installed and there is no apt-get here: install unbound with the system's package manager, then re-run with --with-unbound"
  say "installing unbound and dns-root-data with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unbound dns-root-data ||
    die "apt-get could not install unbound (apt-get update first?); nothing else was changed for unbound"
}

# True when an unbound config file other than ours names a trust anchor
# (Debian's package does, in root-auto-trust-anchor-file.conf). unbound would
# load a second copy of the same anchor file, so ours adds one only where none is.
unbound_has_trust_anchor() {
  local f
  for f in "$UNBOUND_DIR/unbound.conf" "$UNBOUND_DIR"/unbound.conf.d/*.conf; do
    if [ ! -f "$f" ] || [ "$f" = "$UNBOUND_CONF" ]; then continue; fi
    grep -qE '^[[:space:]]*(auto-trust-anchor-file|trust-anchor-file|trust-anchor|trusted-keys-file):' "$f" && return 0
  done
  return 1
}

# A validating unbound does not start without its anchor file: seed it from
# dns-root-data, as Debian's unit does at each start (unbound-helper).
seed_root_key() {
  live_root || return 0
  local anchor
  anchor=$(unbound-checkconf -o auto-trust-anchor-file 2>/dev/null | head -n 1)
  if [ -z "$anchor" ] || [ -s "$anchor" ]; then return 0; fi
  [ -r /usr/share/dns/root.key ] ||
    die "the root trust anchor $anchor is missing and /usr/share/dns/root.key too: apt-get install dns-root-data (or run unbound-anchor -a $anchor), then re-run"
  mkdir -p "$(dirname "$anchor")"
  install -m 0644 /usr/share/dns/root.key "$anchor"
  # unbound itself keeps the file up to date (RFC 5011), so it must own it.
  if getent passwd unbound >/dev/null; then chown unbound:unbound "$(dirname "$anchor")" "$anchor"; fi
  say "seeded the root trust anchor $anchor from /usr/share/dns/root.key"
}

install_unbound() {
  local template=$SOURCE/deploy/unbound.conf new=$UNBOUND_CONF.new changed=yes
  [ -f "$template" ] || die "$template is missing"
  mkdir -p "$UNBOUND_DIR/unbound.conf.d"
  # Staged beside it under a name that unbound's *.conf include does not match.
  cp "$template" "$new"
  chmod 0644 "$new"
  # Put it in place before a first apt-get install, so that unbound's first
  # start already listens on 127.0.0.1:5335 only (its default is port 53).
  [ -e "$UNBOUND_CONF" ] || cp -p "$new" "$UNBOUND_CONF"
  ensure_unbound_package
  if ! unbound_has_trust_anchor; then
    printf '\n    # Added by deploy/install.sh: no other unbound config names a trust anchor.\n    auto-trust-anchor-file: "%s"\n' "$UNBOUND_ANCHOR" >>"$new"
  fi
  if cmp -s "$new" "$UNBOUND_CONF"; then
    changed=no
    rm -f "$new"
  else
    if ! cmp -s "$UNBOUND_CONF" "$template"; then
      cp -p "$UNBOUND_CONF" "$UNBOUND_CONF.old"
      say "kept the previous $UNBOUND_CONF as $UNBOUND_CONF.old (site settings belong in $(dirname "$UNBOUND_CONF")/site.conf)"
    fi
    cp -p "$UNBOUND_CONF" "$UNBOUND_CONF.prev"
    mv "$new" "$UNBOUND_CONF"
  fi
  seed_root_key
  if ! live_root; then
    rm -f "$UNBOUND_CONF.prev"
    say "unbound config written to $UNBOUND_CONF; in the target system: unbound-checkconf && systemctl restart unbound"
    return
  fi
  local check
  if ! check=$(unbound-checkconf 2>&1); then
    printf '%s\n' "$check" >&2
    # Put back what was there, so that unbound's next start still works.
    if [ -e "$UNBOUND_CONF.prev" ]; then mv -f "$UNBOUND_CONF.prev" "$UNBOUND_CONF"; fi
    die "unbound-checkconf rejects the unbound config (above) with Gatehouse's part ($UNBOUND_CONF) in it: the previous file is back and unbound was not restarted"
  fi
  rm -f "$UNBOUND_CONF.prev"
  say "unbound config $UNBOUND_CONF: $check"
  if systemd_running; then
    systemctl enable unbound.service >/dev/null 2>&1
    if [ "$changed" = yes ] || ! systemctl is-active --quiet unbound.service; then
      systemctl restart unbound.service || die "unbound did not start: journalctl -u unbound -n 20"
      say "unbound restarted: recursive resolver on 127.0.0.1:5335"
    else
      say "unbound is running with this config already"
    fi
  else
    say "no running systemd here: unbound is configured but not started"
  fi
}

# The site config's first link asks the local unbound: say so when it is not set up.
check_unbound_link() {
  grep -qE '^[^#]*(udp|tcp)://127\.0\.0\.1:5335' "$CONFIG" || return 0
  [ -e "$UNBOUND_CONF" ] && return 0
  warn "$CONFIG asks unbound on 127.0.0.1:5335 (links), which is not set up here: re-run with --with-unbound, or put the ISP's resolvers in the first link. See docs/operations.md"
}

remove_unbound_config() {
  [ -e "$UNBOUND_CONF" ] || [ -e "$UNBOUND_CONF.old" ] || return 0
  rm -f "$UNBOUND_CONF" "$UNBOUND_CONF.old"
  say "removed $UNBOUND_CONF; the unbound package stays (apt-get purge unbound removes it)"
  if systemd_running; then systemctl try-restart unbound.service || true; fi
}

# --- actions ------------------------------------------------------------------

do_install() {
  need_root_user
  check_node
  check_source
  ensure_user
  install_program
  install_config
  if [ "$WITH_UNBOUND" = yes ]; then install_unbound; fi
  check_unbound_link
  check_list_files
  check_port53
  install_data
  install_unit
  check_config
  create_admin
  start_or_restart
  say "installed. Next: docs/operations.md (point DHCP at this machine: docs/network-setup.md)"
}

do_upgrade() {
  need_root_user
  [ -d "$OPT" ] || die "Gatehouse is not installed in $OPT: use \`$PROG install\`"
  check_node
  check_source
  local old
  old=$(program_version "$OPT")
  backup_before_upgrade
  ensure_user
  install_program keep-previous
  install_config
  if [ "$WITH_UNBOUND" = yes ] || [ -e "$UNBOUND_CONF" ]; then install_unbound; fi
  check_unbound_link
  check_list_files
  install_data
  install_unit
  check_config
  start_or_restart
  say "upgraded from $old to $(program_version "$OPT"); config and data kept; previous program in $OPT.previous"
}

do_uninstall() {
  need_root_user
  if systemd_running; then
    systemctl disable --now gatehouse.service >/dev/null 2>&1 || true
  fi
  rm -f "$WANTS_LINK" "$UNIT"
  if systemd_running; then systemctl daemon-reload; fi
  if [ -L "$BIN_LINK" ]; then rm -f "$BIN_LINK"; fi
  rm -rf "$OPT" "$OPT.new" "$OPT.previous"
  say "removed the program ($OPT) and the systemd unit"
  if [ "$PURGE" = yes ]; then
    rm -rf "$ETC" "$DATA"
    say "purged config ($ETC) and data ($DATA)"
    remove_unbound_config
    if live_root && getent passwd "$SERVICE_USER" >/dev/null; then
      userdel "$SERVICE_USER" || warn "could not remove the '$SERVICE_USER' user"
      say "removed system user '$SERVICE_USER'"
    fi
  else
    say "kept config ($ETC) and data ($DATA); \`$PROG uninstall --purge\` deletes them"
    if [ -e "$UNBOUND_CONF" ]; then say "kept unbound and its Gatehouse config ($UNBOUND_CONF); --purge removes that file"; fi
  fi
}

main() {
  parse_args "$@"
  set_paths
  case $ACTION in
  install) do_install ;;
  upgrade) do_upgrade ;;
  uninstall) do_uninstall ;;
  esac
}

main "$@"
