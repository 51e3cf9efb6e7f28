// "Write guarded, a conflict means plan again": a write carrying a precondition (a resourceVersion, a uid, a JSON
// Patch test) that the API server refuses lost to another writer. Retrying the same write cannot win; planning again
// from the caches, once they show the winner, can. The shells throw PlanAgain and their queue plans the key again.
import { isConflict, isNotFound } from './errors.js';

/** A guarded write lost (or found its object gone, where that means the plan is stale): plan the key again. */
export class PlanAgain extends Error {}

/** What a 404 from a guarded write means: the plan was made on a stale cache, or the object is simply gone. */
export type OnNotFound = 'plan-again' | 'ignore' | 'throw';

/**
 * Runs a guarded write: 409 becomes PlanAgain; 404 becomes PlanAgain, undefined or stays the error, as onNotFound
 * says; any other error is the caller's.
 */
export async function guardedWrite<T>(write: () => Promise<T>, onNotFound: OnNotFound): Promise<T | undefined> {
  try {
    return await write();
  } catch (err) {
    if (isConflict(err)) throw new PlanAgain(String(err));
    if (isNotFound(err)) {
      if (onNotFound === 'plan-again') throw new PlanAgain(String(err));
      if (onNotFound === 'ignore') return undefined;
    }
    throw err;
  }
}
