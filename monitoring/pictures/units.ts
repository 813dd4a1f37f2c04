// Grafana's unit ids as a picture shows them: a chart's values are divided by one step of the
// unit's ladder (chosen by the largest value), so that the axis ticks are round numbers in the unit
// the reader sees ("0, 5, 10 ms" rather than "0, 0.005, 0.01 s").

/** One rung of a unit's ladder: values at or above `factor` (in the base unit) read in `suffix`. */
export interface UnitStep {
  factor: number;
  suffix: string;
}

interface UnitLadder {
  /** What one of the panel's values is in the ladder's base unit (a percentunit 1 is 100 %). */
  toBase: number;
  steps: UnitStep[];
}

const ladder = (base: number, ...steps: [number, string][]): UnitStep[] =>
  steps.map(([power, suffix]) => ({ factor: base ** power, suffix }));

const TIME: UnitStep[] = [
  { factor: 1e-9, suffix: " ns" },
  { factor: 1e-6, suffix: " µs" },
  { factor: 1e-3, suffix: " ms" },
  { factor: 1, suffix: " s" },
  { factor: 60, suffix: " min" },
  { factor: 3600, suffix: " h" },
  { factor: 86400, suffix: " d" },
];
const IEC_BYTES = ladder(1024, [0, " B"], [1, " KiB"], [2, " MiB"], [3, " GiB"], [4, " TiB"]);
const SI_BYTES = ladder(1000, [0, " B"], [1, " kB"], [2, " MB"], [3, " GB"], [4, " TB"]);
/** Counts below 1 stay as they are (0.2 requests/s, not 200 m). */
const count = (unit: string): UnitStep[] =>
  ladder(1000, [0, unit], [1, `k${unit}`], [2, `M${unit}`], [3, `G${unit}`]);
const perSecond = (steps: UnitStep[]): UnitStep[] => steps.map((s) => ({ ...s, suffix: `${s.suffix}/s` }));
const fixed = (suffix: string, toBase = 1): UnitLadder => ({ toBase, steps: [{ factor: 1, suffix }] });

/** The units the dashboard uses and their near relatives; any other unit is shown as a bare number. */
const LADDERS: Record<string, UnitLadder> = {
  ns: { toBase: 1e-9, steps: TIME },
  µs: { toBase: 1e-6, steps: TIME },
  ms: { toBase: 1e-3, steps: TIME },
  s: { toBase: 1, steps: TIME },
  bytes: { toBase: 1, steps: IEC_BYTES },
  decbytes: { toBase: 1, steps: SI_BYTES },
  binBps: { toBase: 1, steps: perSecond(IEC_BYTES) },
  Bps: { toBase: 1, steps: perSecond(SI_BYTES) },
  short: { toBase: 1, steps: count("") },
  reqps: { toBase: 1, steps: count(" req/s") },
  rps: { toBase: 1, steps: count(" reads/s") },
  wps: { toBase: 1, steps: count(" writes/s") },
  ops: { toBase: 1, steps: count(" ops/s") },
  iops: { toBase: 1, steps: count(" io/s") },
  pps: { toBase: 1, steps: count(" packets/s") },
  cps: { toBase: 1, steps: count(" /s") },
  percent: fixed("%"),
  percentunit: fixed("%", 100),
};
const NO_UNIT: UnitStep = { factor: 1, suffix: "" };
const BARE: UnitLadder = { toBase: 1, steps: [NO_UNIT] };

/**
 * How to show values of `unit` whose largest magnitude is `largest`: divide each value by
 * `factor` and write `suffix` after it. The rung is the largest one not above `largest` (the base
 * rung for 0), so the numbers shown are at least 1 unless they are below the ladder's first rung.
 */
export function unitStep(unit: string, largest: number): UnitStep {
  const { toBase, steps } = LADDERS[unit] ?? BARE;
  const magnitude = Math.abs(largest) * toBase;
  const step =
    (magnitude === 0 ? steps.find((s) => s.factor === 1) : steps.findLast((s) => s.factor <= magnitude)) ??
    steps[0] ??
    NO_UNIT;
  return { factor: step.factor / toBase, suffix: step.suffix };
}

/** A number to three significant digits, whole numbers of 1000 and more in full. */
export function formatNumber(value: number): string {
  if (Math.abs(value) >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** One value with its unit, as a stat panel or a table cell shows it: `12.3 ms`, `1.5 MiB`. */
export function formatValue(unit: string, value: number): string {
  const { factor, suffix } = unitStep(unit, value);
  return `${formatNumber(value / factor)}${suffix}`;
}
