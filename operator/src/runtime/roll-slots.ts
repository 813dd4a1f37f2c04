// At most `max` clusters roll their members at once. An operator upgrade that changes the sidecar
// image changes every cluster's pod template together; rolling them all at once would restart a
// member of every ensemble at the same moment, and a bad image would halt every one of them. A
// slot is taken by the first pass that restarts a member (or waits for one) and released when its
// cluster runs the current template again, is paused or is gone. A halted roll keeps its slot, so
// a bad upgrade stops at the first cluster. Slots live in memory: after an operator restart the
// clusters that are still rolling take them again on their first pass.
import type { RollSlot, RollSlots } from "../reconcile/roll.ts";

export class RollSlotLimiter implements RollSlots {
  private readonly holders = new Set<string>();
  private readonly max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`max concurrent rolls must be ≥ 1, got ${max}`);
    this.max = max;
  }

  state(key: string): RollSlot {
    if (this.holders.has(key)) return "held";
    return this.holders.size < this.max ? "free" : "taken";
  }

  acquire(key: string): void {
    if (this.state(key) !== "taken") this.holders.add(key);
  }

  release(key: string): void {
    this.holders.delete(key);
  }

  /** How many clusters hold a slot now (metrics). */
  get rolling(): number {
    return this.holders.size;
  }
}
