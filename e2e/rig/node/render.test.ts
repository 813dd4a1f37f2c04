// The node's configuration files and images, checked without starting anything: each assertion
// is a setting that, when wrong, breaks the node on this machine in a way found the hard way.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { renderContainerdConfig } from "./containerd.ts";
import { renderCorefile } from "./dns.ts";
import { buildImage } from "./images.ts";
import { renderKubeProxyConfig } from "./kube-proxy.ts";
import { renderKubeletConfig } from "./kubelet.ts";
import { renderStorageObjects } from "./storage.ts";

describe("containerd config", () => {
  const toml = renderContainerdConfig({
    dir: "/rig/b/containerd",
    address: "/rig/b/containerd/containerd.sock",
    runcRoot: "/rig/b/containerd/runc",
    sandboxImage: "docker.io/zk-rig/pause:abc",
    cniConfDir: "/rig/b/cni/net.d",
    runcBinary: "/usr/sbin/runc",
  });

  test("keeps oom_score_adj within containerd's own (no CAP_SYS_RESOURCE here)", () => {
    expect(toml).toMatch(/^\s*restrict_oom_score_adj = true$/m);
  });

  test("uses cgroupfs, the local sandbox image and keeps all state in the rig's folder", () => {
    expect(toml).toMatch(/^\s*SystemdCgroup = false$/m);
    expect(toml).toContain('sandbox_image = "docker.io/zk-rig/pause:abc"');
    expect(toml).toContain('root = "/rig/b/containerd/root"');
    expect(toml).toContain('state = "/rig/b/containerd/state"');
    expect(toml).toContain("netns_mounts_under_state_dir = true");
    expect(toml).toContain('conf_dir = "/rig/b/cni/net.d"');
  });
});

describe("kubelet config", () => {
  const config = JSON.parse(
    renderKubeletConfig({
      nodeIp: "10.244.0.1",
      containerdAddress: "/rig/b/containerd/containerd.sock",
      clientCaFile: "/rig/ca.crt",
      clusterDns: ["10.244.0.1"],
      clusterDomain: "cluster.local",
      resolvConf: "/rig/b/kubelet/resolv.conf",
      podLogsDir: "/rig/b/kubelet/pod-logs",
    }),
  ) as Record<string, unknown>;

  test("accepts this machine's cgroup v1 and uses cgroupfs", () => {
    expect(config.failCgroupV1).toBe(false);
    expect(config.cgroupDriver).toBe("cgroupfs");
  });

  test("listens on the node address only and talks to the rig's containerd", () => {
    expect(config.address).toBe("10.244.0.1");
    expect(config.healthzBindAddress).toBe("10.244.0.1");
    expect(config.readOnlyPort).toBe(0);
    expect(config.containerRuntimeEndpoint).toBe("unix:///rig/b/containerd/containerd.sock");
    expect(config.clusterDNS).toEqual(["10.244.0.1"]);
  });
});

test("kube-proxy leaves the host's conntrack settings and localhost alone", () => {
  const config = JSON.parse(
    renderKubeProxyConfig({
      kubeconfig: "/k",
      nodeName: "n",
      nodeIp: "10.244.0.1",
      clusterCidr: "10.244.0.0/16",
    }),
  ) as {
    conntrack: Record<string, unknown>;
    nodePortAddresses: string[];
    iptables: { localhostNodePorts: boolean };
  };
  expect(config.conntrack).toEqual({
    maxPerCore: 0,
    min: 0,
    tcpEstablishedTimeout: "0s",
    tcpCloseWaitTimeout: "0s",
  });
  expect(config.nodePortAddresses).toEqual(["10.244.0.1/32"]);
  expect(config.iptables.localhostNodePorts).toBe(false);
});

test("CoreDNS serves the cluster domain from the API server on the node address", () => {
  const corefile = renderCorefile({ ip: "10.244.0.1", clusterDomain: "cluster.local", kubeconfig: "/k" });
  expect(corefile).toContain("bind 10.244.0.1");
  expect(corefile).toMatch(/kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{\n\s+kubeconfig \/k/);
});

test("local-path is the default StorageClass and keeps volumes in the node's folder", () => {
  const list = JSON.parse(
    renderStorageObjects({ volumesDir: "/rig/node/storage/volumes", helperImage: "bb:1" }),
  ) as {
    items: {
      kind: string;
      metadata: { annotations?: Record<string, string> };
      data?: Record<string, string>;
    }[];
  };
  const sc = list.items.find((i) => i.kind === "StorageClass");
  expect(sc?.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]).toBe("true");
  const config = list.items.find((i) => i.kind === "ConfigMap")?.data?.["config.json"] ?? "{}";
  expect(JSON.parse(config)).toEqual({
    nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: ["/rig/node/storage/volumes"] }],
  });
});

describe("images", () => {
  const cache = mkdtempSync(join(tmpdir(), "zk-rig-images-"));
  const previous = process.env.ZK_RIG_CACHE;
  process.env.ZK_RIG_CACHE = cache;
  afterAll(() => {
    if (previous === undefined) delete process.env.ZK_RIG_CACHE;
    else process.env.ZK_RIG_CACHE = previous;
    rmSync(cache, { recursive: true, force: true });
  });

  test("an image is a docker archive tagged with its content hash", async () => {
    const source = join(cache, "hello.sh");
    writeFileSync(source, "#!/bin/sh\necho hello\n");
    const spec = { name: "zk-rig/test", files: [{ path: "/hello", source }], entrypoint: ["/hello"] };
    const first = await buildImage(spec);
    expect(first.ref).toMatch(/^docker\.io\/zk-rig\/test:[0-9a-f]{16}$/);
    const listing = execFileSync("tar", ["-tf", first.archive], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    expect(listing).toContain("manifest.json");
    expect(listing).toContain("layer.tar");
    const manifest = JSON.parse(
      execFileSync("tar", ["-xOf", first.archive, "manifest.json"], { encoding: "utf8" }),
    ) as {
      RepoTags: string[];
    }[];
    expect(manifest[0]?.RepoTags).toEqual([first.ref]);
    // The same content gives the same tag; changed content a new one.
    expect((await buildImage(spec)).ref).toBe(first.ref);
    writeFileSync(source, "#!/bin/sh\necho changed\n");
    expect((await buildImage(spec)).ref).not.toBe(first.ref);
    expect(readFileSync(source, "utf8")).toContain("changed");
  });
});
