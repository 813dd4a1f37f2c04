// The CustomResourceDefinition, built from the schema. Generated into the operator chart's files/
// by generate.ts; the chart's templates/crd.yaml installs and upgrades it (crds.install), and the
// kube tests and `kubectl apply` users apply that same file.
import { clusterSchema, type JSONSchema } from "../api/schema.ts";
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from "../api/types.ts";

export const CRD_NAME = `${PLURAL}.${GROUP}`;
export const CRD_FILE = `charts/zookeeper-operator/files/${GROUP}_${PLURAL}.yaml`;

export interface PrinterColumn {
  name: string;
  type: "integer" | "string" | "date" | "boolean" | "number";
  jsonPath: string;
  description: string;
  priority?: number;
}

export const PRINTER_COLUMNS: PrinterColumn[] = [
  {
    name: "Replicas",
    type: "integer",
    jsonPath: ".spec.replicas",
    description: "Desired number of servers.",
  },
  {
    name: "Ready",
    type: "integer",
    jsonPath: ".status.readyReplicas",
    description: "Servers serving in a quorum.",
  },
  { name: "Leader", type: "string", jsonPath: ".status.leader", description: "Pod of the current leader." },
  { name: "Version", type: "string", jsonPath: ".status.version", description: "Running ZooKeeper version." },
  {
    name: "Available",
    type: "string",
    jsonPath: '.status.conditions[?(@.type=="Available")].status',
    description: "Whether the ensemble has a quorum and serves clients.",
  },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
];

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchema };
    }[];
  };
}

export function buildCrd(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: CRD_NAME,
      labels: {
        "app.kubernetes.io/name": "zookeeper-operator",
        "app.kubernetes.io/part-of": "zookeeper-operator",
      },
      // helm uninstall keeps it: deleting a CRD deletes every ZooKeeperCluster, and with them
      // (owner references) every ensemble and, with reclaimPolicy Delete, its data.
      annotations: { "helm.sh/resource-policy": "keep" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ["zookeeper"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS,
          schema: { openAPIV3Schema: clusterSchema },
        },
      ],
    },
  };
}
