// A real admission check for tests that need the API server to refuse something the operator
// writes: a ValidatingAdmissionPolicy (CEL, evaluated in the API server) and its binding to one
// namespace, as one List to `kubectl apply`. The kube tier refuses a pod label with it; the e2e
// tier holds a StatefulSet's size to stop the operator between two steps.

export interface StatefulSetPolicy {
  /** Names the policy and its binding (cluster-scoped: unique per test run). */
  name: string;
  /** Only objects in this namespace are checked. */
  namespace: string;
  operations: ("CREATE" | "UPDATE")[];
  /** CEL over `object` (and `oldObject` on UPDATE): true lets the StatefulSet through. */
  expression: string;
  /** The API server's refusal message, which the tests look for. */
  message: string;
}

/** The policy and its binding for StatefulSets, as a v1 List. */
export function statefulSetPolicy(p: StatefulSetPolicy): object {
  return {
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: p.name },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["apps"],
                apiVersions: ["v1"],
                operations: p.operations,
                resources: ["statefulsets"],
              },
            ],
          },
          validations: [{ expression: p.expression, message: p.message }],
        },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: p.name },
        spec: {
          policyName: p.name,
          validationActions: ["Deny"],
          matchResources: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } },
          },
        },
      },
    ],
  };
}
