#!/usr/bin/env bash
# Builds the rig's pinned Kubernetes binaries, etcd, helm and kubeconform from the Go module
# proxy into a cache folder outside the checkout, keyed by version, so that every clone on this
# machine (CI makes a fresh one each run) reuses them, and unpacks the Prometheus Operator's CRDs
# from that module's sources. A tool is rebuilt only when its binary is missing. Prints the bin
# folder on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${ZK_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zk-operator-rig}
bin="$cache_root/bin-k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
work="$cache_root/build"
mkdir -p "$bin" "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

k8s_tools=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
missing=()
for t in "${k8s_tools[@]}"; do [[ -x "$bin/$t" ]] || missing+=("$t"); done

if ((${#missing[@]})); then
  mod="$work/kubernetes-$KUBERNETES_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/.resolved" ]]; then
    (cd "$mod" && rm -f go.mod go.sum && go mod init rig/kubernetes >/dev/null 2>&1)
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local
    # folders that a module download does not have: point each at its published release.
    gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    replaces=$(grep -E '^\s*k8s\.io/[a-z0-9-]+ v0\.0\.0\s*$' "$gomod" | awk '{print $1}' | sort -u)
    (
      cd "$mod"
      go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
      for m in $replaces; do go mod edit -replace="$m=$m@$KUBERNETES_STAGING_VERSION"; done
      printf 'package main\nimport (\n' >tools.go
      for t in "${k8s_tools[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$t" >>tools.go; done
      printf ')\nfunc main() {}\n' >>tools.go
      go mod tidy
      touch .resolved
    )
  fi
  minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  pkgs=(); for t in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$t"); done
  echo "building ${missing[*]} $KUBERNETES_VERSION (first run only; several minutes)" >&2
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/" "${pkgs[@]}")
fi

build_one() { # output-path module package version [extra ldflags]
  local out=$1 module=$2 pkg=$3 version=$4 extra_ldflags=${5:-}
  local name=${out##*/}
  [[ -x "$out" ]] && return 0
  local mod="$work/$name-$version"
  mkdir -p "$mod" "${out%/*}"
  echo "building $name $version (first run only)" >&2
  (
    cd "$mod"
    [[ -f go.mod ]] || go mod init "rig/$name" >/dev/null 2>&1
    go mod edit -require="$module@$version"
    printf 'package main\nimport _ "%s"\nfunc main() {}\n' "$pkg" >tools.go
    go mod tidy
    go build -trimpath -ldflags "-s -w $extra_ldflags" -o "$out" "$pkg"
  )
}
build_one "$bin/etcd" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
# helm reports the version stamped at link time (helm version, .Capabilities.HelmVersion).
build_one "$bin/helm" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
# kubeconform has a folder of its own (the same formula as kubeconformPath() in paths.ts), so that
# a new version builds without rebuilding the Kubernetes binaries. `kubeconform -v` prints the
# version stamped here.
build_one "$cache_root/bin-kubeconform-$KUBECONFORM_VERSION/kubeconform" github.com/yannh/kubeconform \
  github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "-X main.version=$KUBECONFORM_VERSION"

# The Prometheus Operator's CRDs as its release ships them (prometheusOperatorCrdsDir() in
# paths.ts). Copied through a temporary folder, so that a run cut short leaves no partial set.
crds="$cache_root/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
if [[ ! -d "$crds" ]]; then
  mod="$work/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
  mkdir -p "$mod"
  echo "unpacking the Prometheus Operator's CRDs $PROMETHEUS_OPERATOR_VERSION (first run only)" >&2
  dir=$(
    cd "$mod"
    [[ -f go.mod ]] || go mod init rig/prometheus-operator-crds >/dev/null 2>&1
    go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
      sed -n 's/.*"Dir": "\(.*\)".*/\1/p'
  )
  [[ -n "$dir" ]] || { echo "go mod download gave no Dir for prometheus-operator" >&2; exit 1; }
  rm -rf "$crds.tmp"
  mkdir -p "$crds.tmp"
  cp "$dir"/example/prometheus-operator-crd/*.yaml "$crds.tmp/"
  chmod u+w "$crds.tmp"/*.yaml
  mv "$crds.tmp" "$crds"
fi
echo "$bin"
