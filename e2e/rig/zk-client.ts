// Promise wrappers over node-zookeeper-client for tests: connect by address, create, read.
import zookeeper from "node-zookeeper-client";

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Connects and resolves once the session is established; rejects after `timeoutMs`. */
export function connectZk(connectionString: string, timeoutMs = 15_000): Promise<zookeeper.Client> {
  const client = zookeeper.createClient(connectionString, { sessionTimeout: 10_000, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`could not connect to ${connectionString} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

export function createZnode(client: zookeeper.Client, path: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.create(path, Buffer.from(data), (err) => {
      if (err) reject(asError(err));
      else resolve();
    });
  });
}

export function readZnode(client: zookeeper.Client, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.getData(path, (err, data) => {
      if (err) reject(asError(err));
      else resolve(data.toString("utf8"));
    });
  });
}
