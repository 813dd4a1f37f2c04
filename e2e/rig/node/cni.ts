// The node's pod network: one Linux bridge the rig creates (`zkrig0`, 10.244.0.1/24, which is
// also the node's address) and a CNI configuration for Debian's bridge + host-local + loopback
// plugins that puts every pod on it. Nothing else on the host changes: no masquerading (pods
// need nothing outside the node), no host ports, and forwarding is enabled on the rig's bridge
// only (pod → Service → pod traffic is routed back out of the bridge it came in on).
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const BRIDGE = "zkrig0";
export const POD_SUBNET = "10.244.0.0/24";
export const NODE_IP = "10.244.0.1";
export const POD_PREFIX = 24;
/**
 * A fixed (locally administered) MAC for the bridge. Left to itself a Linux bridge takes the
 * lowest MAC of its ports, so it changes whenever a pod's veth with a lower one joins; pods then
 * send to the gateway's old MAC until their ARP entry expires, and DNS to the node address times
 * out ("connection timed out; no servers could be reached") for up to a minute.
 */
export const BRIDGE_MAC = "02:7a:6b:00:00:01";

async function ip(args: string[]): Promise<string> {
  try {
    return (await run("ip", args)).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(" ")}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

export function bridgeExists(): boolean {
  return existsSync(`/sys/class/net/${BRIDGE}`);
}

/** Creates the bridge with the node address (idempotent). */
export async function createBridge(): Promise<void> {
  if (!bridgeExists()) await ip(["link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge"]);
  await ip(["link", "set", BRIDGE, "address", BRIDGE_MAC]);
  const addrs = await ip(["-4", "-o", "addr", "show", "dev", BRIDGE]);
  if (!addrs.includes(`${NODE_IP}/`)) await ip(["addr", "add", `${NODE_IP}/${POD_PREFIX}`, "dev", BRIDGE]);
  await ip(["link", "set", BRIDGE, "up"]);
  // Per-interface forwarding: IPv4 checks the input device's flag, so this enables routing for
  // packets that enter on the rig's bridge and nothing else on the host.
  writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`, "1");
}

export async function deleteBridge(): Promise<void> {
  if (bridgeExists()) await ip(["link", "del", BRIDGE]);
}

/** The CNI network list (one file in `confDir`) and host-local's IPAM state folder. */
export function writeCniConfig(confDir: string, ipamDataDir: string): string {
  const conf = {
    cniVersion: "1.0.0",
    name: "zk-rig",
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        // A pod that reaches itself through a Service IP needs its packets back on its own port.
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: ipamDataDir,
        },
      },
      { type: "loopback" },
    ],
  };
  const path = join(confDir, "10-zk-rig.conflist");
  writeFileSync(path, JSON.stringify(conf, null, 2) + "\n");
  return path;
}

/** The virtual ethernet pairs the bridge plugin created for pods and that are still attached. */
export function bridgePorts(): string[] {
  const dir = `/sys/class/net/${BRIDGE}/brif`;
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Addresses host-local still holds (one file per address in its data folder). */
export function allocatedPodIps(ipamDataDir: string): string[] {
  const dir = join(ipamDataDir, "zk-rig");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

/** Unmounts every mount point under `dir` (deepest first), e.g. pod volumes and network namespaces. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["--lazy", m]).catch(() => undefined);
  return mounts;
}

/** Removes the network state the node created: the bridge (and with it every veth) and IPAM data. */
export async function cleanNetwork(ipamDataDir: string): Promise<void> {
  await deleteBridge();
  rmSync(ipamDataDir, { recursive: true, force: true });
}
