// The sidecar's log: one JSON object per line on stdout, in pino's shape (`level` as pino's
// number, `time` in ms since the epoch, the base fields, then the line's fields and `msg`; an
// Error under `err` as pino's serializer writes it), so one log pipeline reads the operator's and
// the sidecar's lines alike. Not pino itself: for the handful of lines a sidecar writes, pino and
// what it loads (worker_threads, assert, its transports) were 1.2 MiB of RSS in every pod
// (bench/sidecar-readyz.ts).

export const LEVELS = { info: 30, warn: 40, error: 50 } as const;
export type Level = keyof typeof LEVELS;

export interface Logger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface LoggerOptions {
  /** Fields on every line. */
  base?: Record<string, unknown>;
  /** Lines below this level are dropped; "silent" drops all. Default "info". */
  level?: Level | "silent";
  /** Where a line (with its newline) goes; default stdout, written synchronously. */
  write?: (line: string) => void;
}

/** pino's `err` serializer, in short: type, message, stack and the error's own fields. */
function serializeError(err: Error): Record<string, unknown> {
  const own = Object.fromEntries(Object.entries(err)) as Record<string, unknown>;
  return { ...own, type: err.name, message: err.message, stack: err.stack };
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serializeError(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Renders one log line (pure; exported for tests). */
export function renderLine(
  level: Level,
  time: number,
  base: Record<string, unknown>,
  fields: Record<string, unknown>,
  msg: string,
): string {
  const record = { level: LEVELS[level], time, ...base, ...fields, msg };
  try {
    return JSON.stringify(record, replacer) + "\n";
  } catch (err) {
    // A circular value: keep the line, say what was lost.
    return (
      JSON.stringify({
        level: LEVELS[level],
        time,
        ...base,
        msg,
        logError: `fields not serializable: ${String(err)}`,
      }) + "\n"
    );
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = options.base ?? {};
  const min = options.level === "silent" ? Infinity : LEVELS[options.level ?? "info"];
  const write =
    options.write ??
    ((line: string) => {
      // Synchronous for files and pipes on Linux, so a line written just before exit is not lost.
      process.stdout.write(line);
    });
  const at =
    (level: Level) =>
    (fields: Record<string, unknown>, msg: string): void => {
      if (LEVELS[level] >= min) write(renderLine(level, Date.now(), base, fields, msg));
    };
  return { info: at("info"), warn: at("warn"), error: at("error") };
}
