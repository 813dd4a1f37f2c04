#!/usr/bin/env bash
# Builds and fetches what the rig's node (kubelet + containerd) needs besides build-tools.sh's
# control-plane binaries, into a cache folder outside the checkout keyed by version:
#   - Debian's containerd, runc, CNI plugins, iptables, conntrack, socat, docker.io and debootstrap
#     (apt-get, when missing);
#   - the pod sandbox ("pause") binary from e2e/rig/node/pause (static Go);
#   - a static busybox from Debian's busybox-static (the shell of the rig's test image);
#   - kube-proxy at the pinned Kubernetes version (same module setup as build-tools.sh);
#   - CoreDNS with the rig's plugins only (e2e/rig/node/coredns/main.go) at COREDNS_VERSION;
#   - rancher's local-path-provisioner at LOCAL_PATH_PROVISIONER_VERSION (dynamic PVs);
#   - the Prometheus Operator and its config reloader at PROMETHEUS_OPERATOR_VERSION, and
#     Prometheus at PROMETHEUS_VERSION (e2e/rig/monitoring.ts runs them in the cluster).
# Prints the node bin folder on its last line. Run as root (apt-get).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${ZK_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zk-operator-rig}
bin="$cache_root/node-bin-k8s-$KUBERNETES_VERSION"
work="$cache_root/build"
mkdir -p "$bin" "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# Debian packages of the node. The packages' own service files are not used: no systemd here,
# and the rig starts containerd itself with its state in a rig folder.
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v socat >/dev/null || need+=(socat)
# Building our images (e2e/rig/node/project-images.ts): a Docker engine and debootstrap.
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  echo "installing ${need[*]} from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

# The sandbox binary is rebuilt when its source changes (its hash is in the file name).
pause_hash=$(cat "$here/node/pause/main.go" "$here/node/pause/go.mod" | sha256sum | cut -c1-12)
if [[ ! -x "$bin/pause-$pause_hash" ]]; then
  echo "building pause ($pause_hash)" >&2
  (cd "$here/node/pause" && GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$bin/pause-$pause_hash" .)
fi
ln -sfn "pause-$pause_hash" "$bin/pause"

if [[ ! -x "$bin/busybox" ]]; then
  echo "fetching busybox-static from Debian" >&2
  tmp=$(mktemp -d) && chmod 755 "$tmp" # apt-get download runs as _apt
  (cd "$tmp" && apt-get download busybox-static >&2 && dpkg-deb -x busybox-static_*.deb root)
  cp "$tmp/root/bin/busybox" "$bin/busybox"
  rm -rf "$tmp"
fi

if [[ ! -x "$bin/kube-proxy" ]]; then
  # A module of its own beside build-tools.sh's, with the same replace directives: the
  # control-plane build's go.mod stays untouched.
  src="$work/kubernetes-$KUBERNETES_VERSION"
  mod="$work/kube-proxy-$KUBERNETES_VERSION"
  if [[ ! -f "$src/.resolved" ]]; then
    echo "run e2e/rig/build-tools.sh first (it resolves the Kubernetes module in $src)" >&2
    exit 1
  fi
  mkdir -p "$mod"
  if [[ ! -f "$mod/.resolved" ]]; then
    cp "$src/go.mod" "$src/go.sum" "$mod/"
    (
      cd "$mod"
      go mod edit -module=rig/kube-proxy
      printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-proxy"\nfunc main() {}\n' >tools.go
      go mod tidy
      touch .resolved
    )
  fi
  minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "building kube-proxy $KUBERNETES_VERSION (first run only)" >&2
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/kube-proxy" k8s.io/kubernetes/cmd/kube-proxy)
fi
coredns_hash=$(cat "$here/node/coredns/main.go" | sha256sum | cut -c1-12)
if [[ ! -x "$bin/coredns-$COREDNS_VERSION-$coredns_hash" ]]; then
  mod="$work/coredns-$COREDNS_VERSION"
  mkdir -p "$mod"
  cp "$here/node/coredns/main.go" "$mod/main.go"
  echo "building coredns $COREDNS_VERSION (first run only; a few minutes)" >&2
  (
    cd "$mod"
    [[ -f go.mod ]] || go mod init rig/coredns >/dev/null 2>&1
    go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION"
    go mod tidy
    go build -trimpath -ldflags "-s -w" -o "$bin/coredns-$COREDNS_VERSION-$coredns_hash" .
  )
fi
ln -sfn "coredns-$COREDNS_VERSION-$coredns_hash" "$bin/coredns"

lpp="local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION"
if [[ ! -x "$bin/$lpp" ]]; then
  echo "building local-path-provisioner $LOCAL_PATH_PROVISIONER_VERSION (first run only; a few minutes)" >&2
  gobin=$(mktemp -d)
  # Its own module (go.mod without replace directives), so `go install pkg@version` builds it as released.
  GOFLAGS= GOBIN="$gobin" go install -trimpath -ldflags "-s -w" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
  mv "$gobin/local-path-provisioner" "$bin/$lpp"
  rm -rf "$gobin"
fi
ln -sfn "$lpp" "$bin/local-path-provisioner"

# The Prometheus Operator and its config reloader (the monitoring e2e test runs them on the node:
# e2e/rig/monitoring.ts); its CRDs come from the same module's sources (build-tools.sh).
po="prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
if [[ ! -x "$bin/$po" || ! -x "$bin/prometheus-config-reloader-$PROMETHEUS_OPERATOR_VERSION" ]]; then
  mod="$work/$po"
  mkdir -p "$mod"
  echo "building prometheus-operator $PROMETHEUS_OPERATOR_VERSION (first run only; a few minutes)" >&2
  (
    cd "$mod"
    [[ -f go.mod ]] || go mod init rig/prometheus-operator >/dev/null 2>&1
    go mod edit -require="github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
    m=github.com/prometheus-operator/prometheus-operator/cmd
    printf 'package main\nimport (\n_ "%s/operator"\n_ "%s/prometheus-config-reloader"\n)\nfunc main() {}\n' "$m" "$m" >tools.go
    go mod tidy
    go build -trimpath -ldflags "-s -w" -o "$bin/$po" "$m/operator"
    go build -trimpath -ldflags "-s -w" -o "$bin/prometheus-config-reloader-$PROMETHEUS_OPERATOR_VERSION" \
      "$m/prometheus-config-reloader"
  )
fi
ln -sfn "$po" "$bin/prometheus-operator"
ln -sfn "prometheus-config-reloader-$PROMETHEUS_OPERATOR_VERSION" "$bin/prometheus-config-reloader"

# Prometheus, with Kubernetes service discovery only (its remove_all_sd/enable_*_sd build tags):
# what the Prometheus Operator's configurations use, in a fraction of the full build's time.
prom="prometheus-$PROMETHEUS_VERSION"
if [[ ! -x "$bin/$prom" ]]; then
  mod="$work/$prom"
  mkdir -p "$mod"
  echo "building prometheus $PROMETHEUS_VERSION (first run only; several minutes)" >&2
  (
    cd "$mod"
    [[ -f go.mod ]] || go mod init rig/prometheus >/dev/null 2>&1
    go mod edit -require="github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION"
    printf 'package main\nimport _ "github.com/prometheus/prometheus/cmd/prometheus"\nfunc main() {}\n' >tools.go
    go mod tidy
    go build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
      -o "$bin/$prom" github.com/prometheus/prometheus/cmd/prometheus
  )
fi
ln -sfn "$prom" "$bin/prometheus"
echo "$bin"
