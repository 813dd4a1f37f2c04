#!/bin/sh
# zkServer.sh of the Debian-built ZooKeeper image: the official script's foreground start with
# the same variables (ZOOCFGDIR, ZOOCFG, ZOO_LOG_DIR, ZK_SERVER_HEAP in MiB, SERVER_JVMFLAGS,
# JVMFLAGS). Containers run ZooKeeper in the foreground only, so that is all it does.
set -eu
case "${1:-}" in
  start-foreground) ;;
  version) exec java -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.version.VersionInfoMain ;;
  *)
    echo "usage: zkServer.sh start-foreground|version (this image runs ZooKeeper in the foreground only)" >&2
    exit 2
    ;;
esac
conf_dir=${ZOOCFGDIR:-/conf}
cfg=${ZOOCFG:-zoo.cfg}
log_dir=${ZOO_LOG_DIR:-/logs}
heap=${ZK_SERVER_HEAP:-1000}
# zookeeper.jar's manifest names its dependencies but Debian's leaves out netty-codec and
# netty-resolver, which the Netty connection factory (TLS) needs; logback is the logging backend,
# as upstream.
classpath="$conf_dir:/usr/share/java/zookeeper.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar:/usr/share/java/logback-classic.jar:/usr/share/java/logback-core.jar"
# SERVER_JVMFLAGS and JVMFLAGS are split into words on purpose, as the official script does.
# shellcheck disable=SC2086
exec java "-Dzookeeper.log.dir=$log_dir" -Dzookeeper.log.file=zookeeper-server.log \
  -XX:+HeapDumpOnOutOfMemoryError "-XX:OnOutOfMemoryError=kill -9 %p" "-Xmx${heap}m" \
  ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} -cp "$classpath" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf_dir/$cfg"
