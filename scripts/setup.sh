#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind, and nothing that is already
# there: Debian's packages, the npm dependencies (with Node 24 from npm's `node` package), and
# the rig's pinned Kubernetes binaries, etcd and helm, and the node's kube-proxy, CoreDNS,
# local-path-provisioner and pause (built once into a cache outside the checkout, see
# e2e/rig/build-tools.sh and build-node-tools.sh). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# zookeeper: the zk tier's servers. The rest is the e2e tier's node and image builds:
# containerd, runc, the CNI plugins, iptables, conntrack and socat for the kubelet's node, and
# Debian's Docker engine and debootstrap to build our images (e2e/rig/node/project-images.ts).
# prometheus: its promtool checks and unit-tests the alert rules (monitoring/alerts.test.ts); the
# Prometheus server it also installs is not wanted running, see below.
debian_packages=(zookeeper openssl containerd runc containernetworking-plugins iptables conntrack socat docker.io debootstrap prometheus)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts and enables a Prometheus server on :9090 where systemd runs; only promtool
  # is used here.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
    "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# Reinstall the npm dependencies only when the lock file changed since the last install.
stamp=node_modules/.installed-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/node || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
node_version=$(node_modules/.bin/node --version)
[[ $node_version == v24.* ]] || { echo "expected Node 24 from npm's node package, got $node_version" >&2; exit 1; }

bash e2e/rig/build-tools.sh >/dev/null
bash e2e/rig/build-node-tools.sh >/dev/null
