// The runtime side of a membership step (ReconcileDeps.reconfigure): one admin session to the
// members that stay, one conditional reconfig, then the quorum write ZooKeeper's progress
// guarantee asks for before a removed server goes. The session is closed when the step ends,
// whatever happened; every call has a timeout, so a hung server costs a timeout, not a worker.
import { membersKey } from "../reconcile/membership.ts";
import type { ReconfigureRequest, ReconfigureResult } from "../reconcile/reconcile.ts";
import { parseServerLine } from "../../../sidecar/src/contract.ts";
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
      ...(request.tls ? { tls: request.tls } : {}),
      ...(options.timeoutMs !== undefined
        ? { connectTimeoutMs: options.timeoutMs, requestTimeoutMs: options.timeoutMs }
        : {}),
    });
  let version: string;
  let fromVersion: string;
  let already = false;
  const admin = await connect();
  try {
    // The version the change is conditional on is ZooKeeper's own, read now in this session: the
    // sidecars' `conf` answers the step was decided on may be a moment old. The members must be
    // the ones decided on, or the step is decided again.
    const current = await admin.readConfig();
    const removed = new Set(request.remove ?? []);
    const target = [
      ...request.decidedOn.members.filter((m) => !removed.has(m.id)),
      ...(request.add ?? []).flatMap((line) => {
        const parsed = parseServerLine(line);
        return parsed ? [{ id: parsed.id, role: parsed.role }] : [];
      }),
    ];
    if (membersKey(current.members) === membersKey(target)) {
      // Committed before this request (a pass decided on answers from before its own commit):
      // nothing to send; the quorum write below is made again, in case that pass did not get to it.
      version = current.version;
      fromVersion = request.decidedOn.version;
      already = true;
    } else if (membersKey(current.members) !== membersKey(request.decidedOn.members)) {
      return {
        refused: `the committed config is version ${current.version} with members ${membersKey(current.members)}, not the ${membersKey(request.decidedOn.members)} (version ${request.decidedOn.version}) the step was decided on; nothing was sent`,
      };
    } else {
      const config = await admin.reconfig({
        ...(request.add ? { add: request.add } : {}),
        ...(request.remove ? { remove: request.remove } : {}),
        fromVersion: current.version,
      });
      version = config.version;
      fromVersion = current.version;
    }
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
      return already ? { version, fromVersion, already } : { version, fromVersion };
    } catch (err) {
      if (attempt >= QUORUM_WRITE_ATTEMPTS) throw err;
    } finally {
      await writer.close();
    }
  }
}
