// The one source of the ZooKeeperCluster API: the OpenAPI v3 schema with descriptions, defaults and
// CEL rules. The CRD YAML (charts/zookeeper-operator/files/) and docs/api.md are generated from it
// (`npm run generate`); types.ts is written to match it and types.test.ts checks that they agree.
import {
  DEFAULTS,
  OWNED_CONFIG_KEYS,
  OWNED_CONFIG_PREFIXES,
  RESERVED_POD_LABELS,
  RESERVED_PORTS,
  TYPED_CONFIG_KEYS,
} from "./defaults.ts";
import { HEAP_PATTERN } from "./quantity.ts";
import { CLIENT_AUTH_MODES } from "../../../sidecar/src/contract.ts";
import k8sSchemas from "./k8s-schemas.json" with { type: "json" };
import { JVM_HEAP_OPTION, JVM_OPTION_TOKEN, JVM_OWNED_PROPERTY } from "./jvm-options.ts";

export interface ValidationRule {
  rule: string;
  message: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
}

/** The subset of OpenAPI v3 (as Kubernetes structural schemas allow it) that this API uses. */
export interface JSONSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, JSONSchema>;
  additionalProperties?: JSONSchema;
  items?: JSONSchema;
  required?: string[];
  default?: unknown;
  enum?: (string | number)[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: JSONSchema[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: ValidationRule[];
}

/**
 * core/v1 Affinity and TopologySpreadConstraint from the pinned Kubernetes release's OpenAPI,
 * made structural for a CRD (generators/k8s-schemas.ts writes the file): typed, so that the API
 * server names a wrong field instead of keeping it for the StatefulSet to fail on.
 */
const K8S_SCHEMAS = (k8sSchemas as { schemas: Record<"Affinity" | "TopologySpreadConstraint", JSONSchema> })
  .schemas;

// Regular expressions shared by several rules (CEL `matches` uses RE2 syntax, like these).
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_1035_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
const QUANTITY = "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
const ZERO_QUANTITY = "^(0+(\\.0*)?|\\.0+)[A-Za-z]*$";
const CONFIG_KEY = "^[A-Za-z][A-Za-z0-9._-]*$";
/** Kubernetes label values and keys (validation.IsValidLabelValue, IsQualifiedName). */
const LABEL_VALUE = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";
const LABEL_KEY =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/** Bounds that catch a typo by orders of magnitude, far above any real ensemble. */
const MAX_HEAP_GIB = 1024;
const MAX_STORAGE = "64Ti";
const DURATION = "^[0-9]+(ms|s|m|h)$";

const celList = (xs: readonly (string | number)[]): string =>
  `[${xs.map((x) => (typeof x === "number" ? String(x) : `'${x}'`)).join(", ")}]`;

// Small constructors keep the schema readable; every one of them requires a description.
function str(description: string, extra: Partial<JSONSchema> = {}): JSONSchema {
  return { type: "string", description, ...extra };
}
function int(description: string, extra: Partial<JSONSchema> = {}): JSONSchema {
  return { type: "integer", description, ...extra };
}
function bool(description: string, extra: Partial<JSONSchema> = {}): JSONSchema {
  return { type: "boolean", description, ...extra };
}
function obj(
  description: string,
  properties: Record<string, JSONSchema>,
  extra: Partial<JSONSchema> = {},
): JSONSchema {
  return { type: "object", description, properties, ...extra };
}
function arr(description: string, items: JSONSchema, extra: Partial<JSONSchema> = {}): JSONSchema {
  return { type: "array", description, items, ...extra };
}
function stringMap(description: string, extra: Partial<JSONSchema> = {}): JSONSchema {
  return {
    type: "object",
    description,
    additionalProperties: { type: "string", maxLength: 4096 },
    maxProperties: 64,
    ...extra,
  };
}

/** A map of Kubernetes labels: keys and values the API server would accept on any object. */
function labelMap(description: string, rules: { rule: string; message: string }[] = []): JSONSchema {
  return stringMap(description, {
    additionalProperties: { type: "string", maxLength: 63, pattern: LABEL_VALUE },
    "x-kubernetes-validations": [
      {
        rule: `self.all(k, k.size() <= 317 && k.matches(r'${LABEL_KEY}'))`,
        message:
          "keys must be label keys: an optional DNS-subdomain prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",
      },
      ...rules,
    ],
  });
}
function secretName(description: string): JSONSchema {
  return str(description, {
    maxLength: 253,
    "x-kubernetes-validations": [
      {
        rule: `self.matches(r'${DNS_SUBDOMAIN}')`,
        message: "must be a valid Secret name (a DNS subdomain: lower case letters, digits, '-' and '.')",
      },
    ],
  });
}
/** The label selector of Kubernetes (meta/v1 LabelSelector), as the vendored affinity schema has it. */
const LABEL_SELECTOR: JSONSchema = {
  ...K8S_SCHEMAS.Affinity.properties?.podAffinity?.properties?.requiredDuringSchedulingIgnoredDuringExecution
    ?.items?.properties?.labelSelector,
};

/** A list of NetworkPolicy peers (networking/v1 NetworkPolicyPeer without ipBlock). */
function networkPeers(description: string): JSONSchema {
  return {
    type: "array",
    description,
    maxItems: 32,
    items: obj(
      "Pods that match both selectors (an absent selector: the cluster's namespace, or every pod of the selected namespaces).",
      {
        namespaceSelector: { ...LABEL_SELECTOR, description: "Namespaces by label; {} is every namespace." },
        podSelector: { ...LABEL_SELECTOR, description: "Pods by label; {} is every pod." },
      },
      {
        "x-kubernetes-validations": [
          {
            rule: "has(self.namespaceSelector) || has(self.podSelector)",
            message: "a peer needs namespaceSelector or podSelector (or both)",
          },
        ],
      },
    ),
  };
}

/** One role's TLS: exactly one of a Secret or the operator's CA, plus the role's own fields and rules. */
function tlsSource(
  description: string,
  secretDescription: string,
  more: Record<string, JSONSchema> = {},
  rules: { rule: string; message: string }[] = [],
): JSONSchema {
  return obj(
    description,
    {
      ...more,
      secretName: secretName(secretDescription),
      generated: bool(
        "true: the operator makes a CA for this cluster (Secret NAME-ca) and issues the members' certificate (Secret NAME-tls, renewed 30 days before it expires); clients trust NAME-tls's ca.crt.",
      ),
    },
    {
      "x-kubernetes-validations": [
        {
          rule: "has(self.secretName) != (has(self.generated) && self.generated)",
          message: "set exactly one of secretName (your Secret) or generated: true (the operator's CA)",
        },
        ...rules,
      ],
    },
  );
}
/** CEL: whether `root`'s tls.`role` comes from the operator's CA. */
function generatedTls(root: string, role: string): string {
  return `(has(${root}.tls) && has(${root}.tls.${role}) && has(${root}.tls.${role}.generated) && ${root}.tls.${role}.generated)`;
}
function imageRef(description: string, extra: Partial<JSONSchema> = {}): JSONSchema {
  return str(description, {
    minLength: 1,
    maxLength: 512,
    "x-kubernetes-validations": [
      {
        rule: "!self.matches(r'[\\s\\p{Z}\\p{Cc}]')",
        message:
          "must be a non-empty image reference without spaces (ASCII or Unicode) or control characters",
      },
    ],
    ...extra,
  });
}
const pullPolicy = (description: string): JSONSchema =>
  str(description, { enum: ["Always", "IfNotPresent", "Never"] });

function quantityMap(description: string): JSONSchema {
  return {
    type: "object",
    description,
    // Small bounds keep the requests-within-limits rule inside the API server's CEL cost budget.
    maxProperties: 8,
    additionalProperties: {
      anyOf: [{ type: "integer" }, { type: "string" }],
      "x-kubernetes-int-or-string": true,
      maxLength: 32,
      // Kubernetes' quantity syntax without a sign: a negative CPU or memory is never meant.
      pattern:
        "^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
    },
  };
}

function resources(what: string): JSONSchema {
  return obj(
    `Compute resources of ${what} (core/v1 ResourceRequirements).`,
    {
      limits: quantityMap("Maximum amount of each resource, e.g. `cpu: 1`, `memory: 2Gi`."),
      requests: quantityMap(
        "Amount of each resource the scheduler reserves, e.g. `cpu: 500m`, `memory: 1Gi`.",
      ),
    },
    {
      "x-kubernetes-validations": [
        {
          // The API server refuses such a pod only when the StatefulSet creates it; say so here.
          rule: "!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)",
          message: "requests may not exceed limits",
        },
      ],
    },
  );
}

const tolerations = arr(
  "Tolerations of the ZooKeeper pods (core/v1 Toleration).",
  obj(
    "A toleration of a node taint.",
    {
      key: str("Taint key the toleration applies to; empty with operator Exists matches all keys."),
      operator: str("Exists or Equal (default Equal).", { enum: ["Exists", "Equal"] }),
      value: str("Taint value the toleration matches (with operator Equal)."),
      effect: str("Taint effect to match; empty matches all effects.", {
        enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"],
      }),
      tolerationSeconds: int(
        "How long a NoExecute taint is tolerated before eviction; unset means forever.",
        {
          format: "int64",
        },
      ),
    },
    {
      "x-kubernetes-validations": [
        {
          rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
          message: "tolerationSeconds is only allowed with effect NoExecute",
        },
      ],
    },
  ),
  { maxItems: 32 },
);

const ownedKeysRule = `self.all(k, !(k in ${celList(OWNED_CONFIG_KEYS)}) && !${celList(OWNED_CONFIG_PREFIXES)}.exists(p, k.startsWith(p)))`;

export const specSchema: JSONSchema = obj(
  "Desired state of a ZooKeeper ensemble.",
  {
    replicas: int(
      'Number of ZooKeeper servers that vote (participants). Use an odd number: an even ensemble tolerates no more failures than the odd one below it. A change is carried out one server at a time through ZooKeeper\'s dynamic reconfiguration, only while every member serves (docs/operations.md, "Scaling").',
      { default: DEFAULTS.replicas, minimum: 1, maximum: 255 },
    ),
    observers: int(
      "Number of non-voting members (observers) beyond the participants: they serve reads and forward writes without adding to the quorum. Their ids follow the participants'; added and removed one at a time like participants.",
      { default: DEFAULTS.observers, minimum: 0, maximum: 254 },
    ),
    image: imageRef("ZooKeeper image: the official `zookeeper` image (3.9) or a compatible one.", {
      default: DEFAULTS.image,
    }),
    imagePullPolicy: {
      ...pullPolicy("Pull policy of the ZooKeeper image."),
      default: DEFAULTS.imagePullPolicy,
    },
    imagePullSecrets: arr(
      "Secrets with credentials for pulling the images.",
      obj(
        "A reference to a Secret in the cluster's namespace.",
        { name: secretName("Name of the Secret.") },
        { required: ["name"] },
      ),
      { maxItems: 16 },
    ),
    resources: resources("the `zookeeper` container; the JVM heap defaults to 75 % of its memory"),
    sidecar: obj("The operator's sidecar: init container `config` and native sidecar `sidecar`.", {
      image: imageRef("Sidecar image; defaults to the image the operator was released with."),
      imagePullPolicy: pullPolicy("Pull policy of the sidecar image; defaults to imagePullPolicy."),
      resources: resources("the sidecar containers (default: requests 10m CPU and 48Mi memory, limit 96Mi)"),
    }),
    jvm: obj("JVM settings of the ZooKeeper server.", {
      heap: str(
        "Maximum heap, a whole number of MiB or GiB such as `512m` or `2g`, at most 1024g. Default: 75 % of the container's memory limit (else request), else 512m. Must be smaller than the memory limit.",
        {
          maxLength: 8,
          "x-kubernetes-validations": [
            { rule: `self.matches(r'${HEAP_PATTERN}')`, message: "must be a heap size like 512m or 2g" },
            {
              rule: `!self.matches(r'${HEAP_PATTERN}') || int(self.substring(0, self.size() - 1)) <= (self.endsWith('g') || self.endsWith('G') ? ${MAX_HEAP_GIB} : ${MAX_HEAP_GIB * 1024})`,
              message: `must be at most ${MAX_HEAP_GIB}g`,
            },
          ],
        },
      ),
      options: arr(
        "Extra JVM options appended to SERVER_JVMFLAGS, one token each (no spaces). Not the heap (use heap) and not ZooKeeper's authentication and ACL properties (the operator owns them).",
        str("One JVM option, e.g. `-XX:+UseG1GC`.", { maxLength: 1024 }),
        {
          maxItems: 32,
          "x-kubernetes-validations": [
            {
              rule: `self.all(o, o.matches(r'${JVM_OPTION_TOKEN}'))`,
              message:
                "each JVM option must be one token starting with '-', without spaces, line breaks or control characters",
            },
            {
              rule: `self.all(o, !o.matches(r'${JVM_HEAP_OPTION}'))`,
              message: "set the heap with jvm.heap, not -Xmx/-Xms or -XX heap and RAM options",
            },
            {
              rule: `self.all(o, !o.matches(r'${JVM_OWNED_PROPERTY}') && !o.contains('superDigest'))`,
              message:
                "authentication and ACL properties (skipACL, superUser, auth providers, the super digest) are owned by the operator",
            },
          ],
        },
      ),
    }),
    config: obj(
      "zoo.cfg settings. Keys the operator owns (paths, ports, membership, reconfiguration, 4lw whitelist, metrics provider, TLS) cannot be set.",
      {
        tickTime: int("Basic time unit in milliseconds (heartbeats; session timeouts are 2–20 ticks).", {
          default: DEFAULTS.config.tickTime,
          minimum: 100,
          maximum: 60000,
        }),
        initLimit: int("Ticks a follower may take to connect to and sync with the leader.", {
          default: DEFAULTS.config.initLimit,
          minimum: 1,
          maximum: 1000,
        }),
        syncLimit: int(
          "Ticks a follower may lag behind the leader before it is dropped; also bounds failover from a frozen leader (syncLimit × tickTime).",
          { default: DEFAULTS.config.syncLimit, minimum: 1, maximum: 1000 },
        ),
        maxClientCnxns: int(
          "Concurrent connections one client IP may open to one server; 0 means unlimited.",
          {
            default: DEFAULTS.config.maxClientCnxns,
            minimum: 0,
            maximum: 100000,
          },
        ),
        autopurge: obj(
          "Automatic purging of old snapshots and transaction logs.",
          {
            snapRetainCount: int("Number of recent snapshots (and their logs) to keep.", {
              default: DEFAULTS.config.autopurge.snapRetainCount,
              minimum: 3,
              maximum: 1000,
            }),
            purgeInterval: int("Hours between purges; 0 disables purging.", {
              default: DEFAULTS.config.autopurge.purgeInterval,
              minimum: 0,
              maximum: 8760,
            }),
          },
          { default: {} },
        ),
        additional: {
          type: "object",
          description:
            "Further zoo.cfg keys and values, rendered after the typed keys. Keys the operator owns and keys with a typed field are rejected; values are single lines.",
          maxProperties: 64,
          additionalProperties: { type: "string", maxLength: 1024 },
          "x-kubernetes-validations": [
            {
              rule: `self.all(k, k.size() <= 128 && k.matches(r'${CONFIG_KEY}'))`,
              message: "keys must be zoo.cfg keys: a letter, then letters, digits, '.', '_' or '-'",
            },
            {
              rule: ownedKeysRule,
              message: `may not set keys the operator owns: ${OWNED_CONFIG_KEYS.join(", ")}, and ${OWNED_CONFIG_PREFIXES.map((p) => `${p}*`).join(", ")}`,
            },
            {
              rule: `self.all(k, !(k in ${celList(TYPED_CONFIG_KEYS)}))`,
              message: `${TYPED_CONFIG_KEYS.join(", ")} have their own fields under spec.config; set them there`,
            },
            {
              rule: "self.all(k, !self[k].contains('\\n') && !self[k].contains('\\r'))",
              message: "values may not contain line breaks",
            },
            {
              // A tab is allowed (Java properties take it as a space); other control characters are not.
              rule: "self.all(k, !self[k].matches(r'[\\x00-\\x08\\x0b-\\x1f\\x7f]'))",
              message: "values may not contain control characters",
            },
            {
              // Java properties read a backslash as an escape: at the end it joins the next line of
              // zoo.cfg into the value, and a malformed \u makes ZooKeeper exit (contract.ts).
              rule: "self.all(k, !self[k].contains('\\\\'))",
              message: "values may not contain a backslash (Java properties would read it as an escape)",
            },
          ],
        },
      },
      { default: {} },
    ),
    storage: obj(
      "The data volume of each server (a PersistentVolumeClaim per pod). Immutable once created.",
      {
        size: str("Size of each server's volume, a Kubernetes quantity such as `10Gi`, at most 64Ti.", {
          default: DEFAULTS.storage.size,
          maxLength: 32,
          "x-kubernetes-validations": [
            {
              rule: `self.matches(r'${QUANTITY}') && !self.matches(r'${ZERO_QUANTITY}')`,
              message: "must be a positive quantity such as 10Gi",
            },
            {
              rule: `!self.matches(r'${QUANTITY}') || quantity(self).compareTo(quantity('${MAX_STORAGE}')) <= 0`,
              message: `must be at most ${MAX_STORAGE}`,
            },
          ],
        }),
        storageClassName: str("StorageClass of the volumes; the cluster's default class when unset.", {
          maxLength: 253,
          "x-kubernetes-validations": [
            { rule: `self.matches(r'${DNS_SUBDOMAIN}')`, message: "must be a valid StorageClass name" },
          ],
        }),
        reclaimPolicy: str(
          "What happens to a volume when the cluster is deleted or scaled down: Retain keeps it, Delete deletes it (StatefulSet PVC retention policy).",
          { default: DEFAULTS.storage.reclaimPolicy, enum: ["Retain", "Delete"] },
        ),
      },
      {
        default: {},
        "x-kubernetes-validations": [
          {
            rule: "self == oldSelf",
            message:
              "storage is immutable: volumes are created once per server; create a new cluster to change them",
          },
        ],
      },
    ),
    pod: obj(
      "Scheduling and metadata of the ZooKeeper pods.",
      {
        labels: labelMap(
          "Extra labels of the pods (the app.kubernetes.io/* labels the operator sets are reserved).",
          [
            {
              rule: `self.all(k, !(k in ${celList(RESERVED_POD_LABELS)}))`,
              message: `may not set the labels the operator selects pods by: ${RESERVED_POD_LABELS.join(", ")}`,
            },
          ],
        ),
        annotations: stringMap("Extra annotations of the pods.", {
          "x-kubernetes-validations": [
            {
              rule: "self.all(k, !k.startsWith('zookeeper.ensemble.dev/'))",
              message: "may not set annotations under zookeeper.ensemble.dev/: the operator owns them",
            },
          ],
        }),
        nodeSelector: stringMap("Node labels a node must have to run a ZooKeeper pod."),
        tolerations,
        affinity: {
          ...K8S_SCHEMAS.Affinity,
          description:
            "Kubernetes affinity (core/v1 Affinity) of the pods. The operator adds its own pod anti-affinity term per antiAffinity.",
        },
        topologySpreadConstraints: arr(
          "Topology spread constraints (core/v1 TopologySpreadConstraint). Unset: spread over zones, softly (ScheduleAnyway). An empty list disables spreading. A constraint without labelSelector selects this cluster's pods.",
          {
            ...K8S_SCHEMAS.TopologySpreadConstraint,
            description: "A topology spread constraint.",
            required: ["maxSkew", "topologyKey", "whenUnsatisfiable"],
            properties: {
              ...K8S_SCHEMAS.TopologySpreadConstraint.properties,
              topologyKey: str(
                "Node label that defines the topology domains, e.g. topology.kubernetes.io/zone.",
              ),
              maxSkew: int("Largest allowed difference of pod counts between topology domains.", {
                minimum: 1,
                format: "int32",
              }),
              whenUnsatisfiable: str("DoNotSchedule or ScheduleAnyway.", {
                enum: ["DoNotSchedule", "ScheduleAnyway"],
              }),
            },
          },
          { maxItems: 8 },
        ),
        priorityClassName: str("PriorityClass of the pods.", {
          maxLength: 253,
          "x-kubernetes-validations": [
            { rule: `self.matches(r'${DNS_SUBDOMAIN}')`, message: "must be a valid PriorityClass name" },
          ],
        }),
        antiAffinity: str(
          "Keep servers on different nodes: `preferred` (soft, default), `required` (hard: a pod stays Pending rather than share a node) or `none`.",
          { default: DEFAULTS.pod.antiAffinity, enum: ["preferred", "required", "none"] },
        ),
        terminationGracePeriodSeconds: int("Seconds a server gets to shut down before it is killed.", {
          default: DEFAULTS.pod.terminationGracePeriodSeconds,
          minimum: 0,
          maximum: 3600,
          format: "int64",
        }),
      },
      { default: {} },
    ),
    disruptionBudget: obj(
      "The PodDisruptionBudget that limits voluntary disruptions such as node drains.",
      {
        maxUnavailable: int(
          "Servers that may be down at once for voluntary disruptions: from 1 to (replicas−1)/2 rounded down (at least 1), so that a drain never breaks quorum.",
          { default: DEFAULTS.disruptionBudget.maxUnavailable, minimum: 1 },
        ),
      },
      { default: {} },
    ),
    service: obj(
      "The client Service (NAME-client) that applications connect to.",
      {
        type: str("Service type.", {
          default: DEFAULTS.service.type,
          enum: ["ClusterIP", "NodePort", "LoadBalancer"],
        }),
        annotations: stringMap("Annotations of the client Service, e.g. for a cloud load balancer."),
      },
      { default: {} },
    ),
    networkPolicy: obj(
      "A NetworkPolicy the operator keeps for the members (docs/security.md). It takes effect only where the cluster's network plugin enforces NetworkPolicies.",
      {
        enabled: bool(
          "true: the members accept the quorum and election ports from each other only, the client port from `clients`, the metrics ports from `metrics`, and the client and sidecar ports from the operator's namespace.",
          { default: DEFAULTS.networkPolicy.enabled },
        ),
        clients: networkPeers(
          "Who may reach the client port (2181, or 2281 with client TLS). Empty: every pod of the cluster's namespace.",
        ),
        metrics: networkPeers(
          "Who may scrape the metrics ports (spec.metrics.port and the sidecar's 8081). Empty: every pod of every namespace.",
        ),
      },
      { default: {} },
    ),
    metrics: obj(
      "ZooKeeper's Prometheus metrics.",
      {
        enabled: bool("Serve ZooKeeper's native Prometheus metrics from every server.", {
          default: DEFAULTS.metrics.enabled,
        }),
        port: int(`Port of the metrics endpoint (not one of ${RESERVED_PORTS.join(", ")}).`, {
          default: DEFAULTS.metrics.port,
          minimum: 1024,
          maximum: 65535,
          "x-kubernetes-validations": [
            {
              rule: `!(self in ${celList(RESERVED_PORTS)})`,
              message: `must not be a port ZooKeeper or the sidecar already uses (${RESERVED_PORTS.join(", ")})`,
            },
          ],
        }),
        podMonitor: obj(
          "A Prometheus Operator PodMonitor that scrapes every member's sidecar (and ZooKeeper's own endpoint when enabled), created when the cluster serves monitoring.coreos.com/v1 PodMonitors (docs/monitoring.md).",
          {
            enabled: bool(
              "Create the PodMonitor when the PodMonitor API is served; false deletes the one the operator made.",
              { default: DEFAULTS.metrics.podMonitor.enabled },
            ),
            interval: str("Scrape interval, e.g. 30s.", {
              default: DEFAULTS.metrics.podMonitor.interval,
              maxLength: 16,
              "x-kubernetes-validations": [
                { rule: `self.matches(r'${DURATION}')`, message: "must be a duration such as 30s or 1m" },
              ],
            }),
            labels: labelMap(
              "Labels of the PodMonitor, so that a Prometheus's podMonitorSelector picks it, e.g. { release: prometheus }.",
            ),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    tls: obj(
      "TLS for client and quorum connections, each from a Secret in cert-manager's layout (tls.crt, tls.key, ca.crt) in the cluster's namespace or from the operator's own CA for the cluster (docs/security.md). Set when the cluster is created: turning either on or off, or moving it between a Secret and the operator's CA, on a running ensemble is refused until the operator migrates one.",
      {
        client: tlsSource(
          "TLS of client connections: the secure client port (2281) on the client Service; the plain port then listens on loopback only, for the sidecar.",
          "Secret whose certificate names the client Service (NAME-client.NAMESPACE.svc) and every member (*.NAME-headless.NAMESPACE.svc.CLUSTER-DOMAIN); with clientAuth, its extended key usage must allow clientAuth too (the operator presents it to the members).",
          {
            clientAuth: str(
              "Client certificates, ZooKeeper's ssl.clientAuth: none (default) asks for none; want asks and authenticates clients that send one; need refuses a client without a certificate of the Secret's CA. With want or need ZooKeeper's x509 provider authenticates clients by their certificate (ACLs such as x509:CN=app); the super user stays the only administrative identity.",
              { enum: [...CLIENT_AUTH_MODES] },
            ),
          },
          [
            {
              rule: "!has(self.clientAuth) || self.clientAuth == 'none' || has(self.secretName)",
              message:
                "clientAuth needs your own Secret (secretName): the operator's CA does not issue client certificates yet",
            },
          ],
        ),
        quorum: tlsSource(
          "TLS between the servers (quorum and election), host names verified.",
          "Secret whose certificate names every member (*.NAME-headless.NAMESPACE.svc.CLUSTER-DOMAIN) and allows serverAuth and clientAuth.",
        ),
      },
    ),
    paused: bool(
      "When true the operator reports status but changes nothing (no applies, no reconfiguration).",
      {
        default: DEFAULTS.paused,
      },
    ),
  },
  {
    "x-kubernetes-validations": [
      {
        rule: `!has(self.disruptionBudget) || !has(self.disruptionBudget.maxUnavailable) || self.disruptionBudget.maxUnavailable <= ((has(self.replicas) ? self.replicas : ${DEFAULTS.replicas}) <= 2 ? 1 : ((has(self.replicas) ? self.replicas : ${DEFAULTS.replicas}) - 1) / 2)`,
        message:
          "disruptionBudget.maxUnavailable must not exceed (replicas-1)/2 rounded down (at least 1), so that a voluntary disruption never breaks quorum",
        fieldPath: ".disruptionBudget.maxUnavailable",
      },
      {
        rule: `(has(self.replicas) ? self.replicas : ${DEFAULTS.replicas}) + (has(self.observers) ? self.observers : 0) <= 255`,
        message: "replicas + observers must not exceed 255: server ids run from 1 to 255",
        fieldPath: ".observers",
      },
      // A rolling change to or from TLS needs ZooKeeper's port unification, step by step; until the
      // operator does that, a roll would split the quorum into servers that cannot talk.
      // Moving between a Secret and the operator's CA changes what every member trusts at once.
      ...(["client", "quorum"] as const).flatMap((role) => [
        {
          rule: `(has(self.tls) && has(self.tls.${role})) == (has(oldSelf.tls) && has(oldSelf.tls.${role}))`,
          message: `tls.${role} cannot be turned on or off on an existing cluster yet: the servers would restart one by one into two halves that cannot talk (create a new cluster, or see docs/security.md)`,
          fieldPath: `.tls`,
        },
        {
          rule: `${generatedTls("self", role)} == ${generatedTls("oldSelf", role)}`,
          message: `tls.${role}.generated cannot change on an existing cluster: the members would stop trusting each other's certificates (create a new cluster, or see docs/security.md)`,
          fieldPath: `.tls`,
        },
      ]),
    ],
  },
);

const condition = obj(
  "A condition of the cluster.",
  {
    type: str("Available, Progressing or Degraded."),
    status: str("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
    reason: str("Machine-readable reason in CamelCase."),
    message: str("Human-readable explanation."),
    lastTransitionTime: str("When status last changed.", { format: "date-time" }),
    observedGeneration: int("The generation of the spec the condition was computed from.", {
      format: "int64",
    }),
  },
  { required: ["type", "status", "lastTransitionTime"] },
);

export const statusSchema: JSONSchema = obj("Observed state of the ensemble, written by the operator.", {
  observedGeneration: int("The generation of the spec this status describes.", { format: "int64" }),
  replicas: int("Members in the committed ensemble config (participants and observers)."),
  readyReplicas: int("Members whose pod is ready (serving in a quorum)."),
  updatedReplicas: int(
    "Members whose pod runs the StatefulSet's current pod template; the others change when their pod is restarted.",
  ),
  members: arr(
    "The members of the committed ensemble config (ZooKeeper's own, not the spec's) as the operator last observed them.",
    obj(
      "One member.",
      {
        id: int("ZooKeeper server id (pod ordinal + 1)."),
        pod: str("Pod name."),
        role: str("participant (votes) or observer (does not), as the committed config lists it.", {
          enum: ["participant", "observer"],
        }),
        mode: str(
          "leader, follower or observer as the member's sidecar reports it; down when it serves no quorum; unknown when its pod is ready but its sidecar did not answer.",
          { enum: ["leader", "follower", "observer", "down", "unknown"] },
        ),
        ready: bool("Whether the pod is ready."),
        synced: bool(
          "Whether the member serves in the leader's epoch and has caught up with the leader's last transaction (within a second of writes).",
        ),
        upToDate: bool(
          "Whether the pod runs the StatefulSet's current pod template (its controller-revision-hash is the update revision).",
        ),
      },
      { required: ["id"] },
    ),
    { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"] },
  ),
  leader: str("Pod name of the current leader."),
  ensembleConfigVersion: str(
    "Version of the committed ensemble configuration (hex, as ZooKeeper prints it).",
  ),
  version: str("Tag of the running ZooKeeper image."),
  initializedAt: str(
    "When the ensemble first reached quorum. From then on an empty data volume is a lost volume, never a new ensemble: a server refuses to start on one unless the operator re-adds it.",
    { format: "date-time" },
  ),
  lastRestart: obj(
    "The member the operator last restarted in a rolling restart; the roll restarts no other member until this one's replacement serves and is in sync, and halts when it does not within the deadline.",
    {
      pod: str("Pod name."),
      uid: str("The uid of the evicted pod; a pod of the same name with another uid is its replacement."),
      revision: str("The StatefulSet update revision the replacement runs."),
      at: str("When the pod was evicted.", { format: "date-time" }),
    },
    { required: ["pod", "uid", "revision", "at"] },
  ),
  connectionString: str("The address clients connect to (the client Service and port)."),
  conditions: arr("Available, Progressing and Degraded.", condition, {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
  }),
});

/** The whole object's schema (openAPIV3Schema of the CRD version). */
export const clusterSchema: JSONSchema = obj(
  "A ZooKeeper ensemble run by the zk-operator: a StatefulSet with stable member names, Services, a PodDisruptionBudget, a ConfigMap and the super user's Secret, with a status read from the members themselves.",
  {
    apiVersion: str("API version of this object: zookeeper.ensemble.dev/v1alpha1."),
    kind: str("ZooKeeperCluster."),
    // Kubernetes allows no description here: metadata is the standard ObjectMeta.
    metadata: { type: "object" },
    spec: { ...specSchema, default: {} },
    status: statusSchema,
  },
  {
    "x-kubernetes-validations": [
      {
        rule: `self.metadata.name.size() <= 52 && self.metadata.name.matches(r'${DNS_1035_LABEL}')`,
        message:
          "metadata.name must be a DNS-1035 label of at most 52 characters (lower case letters, digits and '-', starting with a letter), so that pod and Service names stay valid",
      },
    ],
  },
);

export const DNS_PATTERNS = { DNS_SUBDOMAIN, DNS_1035_LABEL, QUANTITY } as const;
