// The scraper's latest measurement of each pool, by pool key (namespace/name). The scraper only measures and
// writes here; the pool controller's status builder reads it, so status.utilization goes out in the one status
// write of a pool pass and pool status has a single writer.
import type { PoolUtilization } from '../api/types.js';
import { statusUtilization } from './utilization.js';

export class UtilizationStore {
  private readonly latest = new Map<string, PoolUtilization>();

  get(poolKey: string): PoolUtilization | undefined {
    return this.latest.get(poolKey);
  }

  /**
   * What the pool's status.utilization should say, given what it shows now: the latest measurement when it moved
   * meaningfully, else what is shown (see statusUtilization). The pool controller asks this as it builds status.
   */
  statusFor(poolKey: string, shown: PoolUtilization | undefined): PoolUtilization | undefined {
    return statusUtilization(shown, this.latest.get(poolKey));
  }

  set(poolKey: string, utilization: PoolUtilization): void {
    this.latest.set(poolKey, utilization);
  }

  /** The pool is no longer measured (no spec.metrics, deleted): its status keeps what it last showed. */
  delete(poolKey: string): void {
    this.latest.delete(poolKey);
  }
}
