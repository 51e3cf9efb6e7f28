// The scraper's latest measurement of each pool, by pool key (namespace/name). The scraper only measures and
// writes here; the pool controller's status builder reads it, so status.utilization goes out in the one status
// write of a pool pass and pool status has a single writer.
import type { PoolUtilization } from '../api/types.js';

export class UtilizationStore {
  private readonly latest = new Map<string, PoolUtilization>();

  get(poolKey: string): PoolUtilization | undefined {
    return this.latest.get(poolKey);
  }

  set(poolKey: string, utilization: PoolUtilization): void {
    this.latest.set(poolKey, utilization);
  }

  /** The pool is no longer measured (no spec.metrics, deleted): its status keeps what it last showed. */
  delete(poolKey: string): void {
    this.latest.delete(poolKey);
  }
}
