#!/bin/sh
# zkCli.sh of the Debian-built ZooKeeper image: ZooKeeper's command-line client, as in the
# official image (`zkCli.sh -server HOST:2181 [command]`). A small heap of its own, so running it
# beside the server in a container with a memory limit does not starve the server.
set -eu
exec java "-Xmx${CLI_HEAP_MIB:-64}m" -Dzookeeper.log.dir=/tmp \
  -cp "/usr/share/java/zookeeper.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar:/usr/share/java/logback-classic.jar:/usr/share/java/logback-core.jar" \
  ${CLIENT_JVMFLAGS:-} org.apache.zookeeper.ZooKeeperMain "$@"
