// The runtime side of a membership step (ReconcileDeps.reconfigure): one admin session to the
// members that stay, one conditional reconfig, then the quorum write ZooKeeper's progress
// guarantee asks for before a removed server goes. The session is closed when the step ends,
// whatever happened; every call has a timeout, so a hung server costs a timeout, not a worker.
import type { ReconfigureRequest, ReconfigureResult } from "../reconcile/reconcile.ts";
import { connectZkAdmin, ZkAdminError, type ZkAdminErrorCode } from "./zk-admin.ts";

/**
 * ZooKeeper's answers that mean "not now, or not this": reported in the status and an Event, and
 * the next pass decides again on the config it reads then. Anything else (no session, a timeout,
 * a lost connection) is thrown: whether the reconfig took effect is unknown, and the next pass
 * reads the committed config before it decides anything.
 */
const REFUSALS: ReadonlySet<ZkAdminErrorCode> = new Set([
  "BadVersion",
  "BadArguments",
  "NewConfigNoQuorum",
  "ReconfigInProgress",
  "ReconfigDisabled",
  "NoAuth",
]);

/** How often the quorum write is tried, each time on a new session, before the pass fails. */
const QUORUM_WRITE_ATTEMPTS = 3;

export interface ReconfigureOptions {
  /** How long connecting and each call may take (default 10 s each). */
  timeoutMs?: number;
}

export async function reconfigure(
  request: ReconfigureRequest,
  options: ReconfigureOptions = {},
): Promise<ReconfigureResult> {
  const connect = () =>
    connectZkAdmin({
      hosts: request.hosts,
      password: request.password,
      ...(options.timeoutMs !== undefined
        ? { connectTimeoutMs: options.timeoutMs, requestTimeoutMs: options.timeoutMs }
        : {}),
    });
  let version: string;
  const admin = await connect();
  try {
    const config = await admin.reconfig({
      ...(request.add ? { add: request.add } : {}),
      ...(request.remove ? { remove: request.remove } : {}),
      fromVersion: request.fromVersion,
    });
    version = config.version;
  } catch (err) {
    if (err instanceof ZkAdminError && REFUSALS.has(err.code)) return { refused: err.message };
    throw err;
  } finally {
    await admin.close();
  }
  // The reconfig is committed; the quorum write is idempotent, so it may be tried again.
  for (let attempt = 1; ; attempt++) {
    const writer = await connect();
    try {
      await writer.writeQuorumMarker(version);
      return { version };
    } catch (err) {
      if (attempt >= QUORUM_WRITE_ATTEMPTS) throw err;
    } finally {
      await writer.close();
    }
  }
}
