// NAME-config: the static zoo.cfg settings and the membership new pods bootstrap from (the
// committed members, plus the server joining now), mounted into the pods for the sidecar (keys
// from the sidecar contract).
import type { V1ConfigMap } from "@kubernetes/client-node";
import {
  CONFIGMAP_KEYS,
  renderMembersFile,
  renderRejoinEmpty,
  type Member,
} from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames } from "./labels.ts";
import { renderStaticConfig } from "./zoo-cfg.ts";

/**
 * Key of the logging configuration for the zookeeper container (not part of the sidecar contract:
 * only the operator's pod template refers to it). The official image keeps its logback.xml in
 * /conf, which the pod replaces with the data volume; without a configuration logback logs
 * everything at DEBUG.
 */
export const LOGBACK_KEY = "logback.xml";

/** Console logging at INFO, in ZooKeeper's own pattern. */
export const LOGBACK_XML = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="CONSOLE" />
  </root>
</configuration>
`;

export function buildConfigMap(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  members: Member[],
  membersVersion: string,
  /** What the ensemble's life recorded: when it first reached quorum, who may rejoin empty. */
  markers: { initializedAt: string | null; rejoinEmpty: number[]; joining?: number | null } = {
    initializedAt: null,
    rejoinEmpty: [],
  },
): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMetadata(cluster, childNames(cluster.metadata.name ?? "").configMap),
    data: {
      [CONFIGMAP_KEYS.staticConfig]: renderStaticConfig(spec),
      [CONFIGMAP_KEYS.members]: renderMembersFile({ version: membersVersion, members }),
      [LOGBACK_KEY]: LOGBACK_XML,
      ...(markers.initializedAt !== null ? { [CONFIGMAP_KEYS.initializedAt]: markers.initializedAt } : {}),
      ...(markers.rejoinEmpty.length > 0
        ? { [CONFIGMAP_KEYS.rejoinEmpty]: renderRejoinEmpty(markers.rejoinEmpty) }
        : {}),
      ...(markers.joining ? { [CONFIGMAP_KEYS.joining]: String(markers.joining) } : {}),
    },
  };
}
