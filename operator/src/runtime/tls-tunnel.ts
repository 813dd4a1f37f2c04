// TLS for the operator's ZooKeeper admin client. node-zookeeper-client speaks plain TCP only (it
// calls net.connect itself), so with client TLS each member is reached through a tunnel of its
// own: a listener on 127.0.0.1 that pipes every connection into a TLS connection to the member's
// secure port, verified against the cluster's CA and the member's stable DNS name. The admin
// client connects to the listeners and never knows; the tunnels live as long as its session.
import { createServer, type LookupFunction, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface TlsTunnels {
  /** `127.0.0.1:PORT` per target, in the targets' order. */
  hosts: string[];
  /** The last TLS failure per target (`host:port` → message), for an error that says why. */
  failures(): Map<string, string>;
  /** Stops the listeners and cuts every piped connection. */
  close(): Promise<void>;
}

export interface TlsTunnelOptions {
  /** PEM CA certificates the members' certificates must chain to. */
  ca: string;
  /** The certificate chain and key (PEM) to present when the members require client certificates. */
  cert?: string;
  key?: string;
  /**
   * How host names resolve (Node's `lookup` option); the system resolver when absent. The loopback
   * rig resolves the members' stable names to their 127.x addresses with it.
   */
  lookup?: LookupFunction;
}

/** Opens one tunnel per `host:port` target; the names are verified against the certificates. */
export async function openTlsTunnels(
  targets: readonly string[],
  options: TlsTunnelOptions,
): Promise<TlsTunnels> {
  const { ca, lookup, cert, key } = options;
  const identity = cert !== undefined && key !== undefined ? { cert, key } : {};
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const failures = new Map<string, string>();
  const hosts: string[] = [];
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  try {
    for (const target of targets) {
      const cut = target.lastIndexOf(":");
      const host = target.slice(0, cut);
      const port = Number(target.slice(cut + 1));
      const server = createServer((local) => {
        track(local);
        const remote = tlsConnect({
          host,
          port,
          servername: host,
          ca,
          ...identity,
          ...(lookup ? { lookup } : {}),
        });
        track(remote);
        remote.once("secureConnect", () => failures.delete(target));
        const fail = (err?: Error): void => {
          if (err) failures.set(target, err.message);
          local.destroy();
          remote.destroy();
        };
        local.on("error", () => {
          fail();
        });
        remote.on("error", fail);
        local.once("close", () => remote.destroy());
        remote.once("close", () => local.destroy());
        local.pipe(remote);
        remote.pipe(local);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
          resolve();
        });
      });
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("tunnel listener has no port");
      hosts.push(`127.0.0.1:${address.port}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    hosts,
    failures: () => new Map(failures),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) =>
              s.close(() => {
                resolve();
              }),
            ),
        ),
      );
    },
  };
}
