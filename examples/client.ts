// Claim a warm CI runner from a program, use it, and give it back at the end of the scope.
// Outside this repository: import { claim } from 'warmpool/client' (the package's client entry point).
// Run (after make build, with KUBECONFIG set and examples/ci-runners.yaml applied):
//   node dist/examples/client.js
import { claim, claimMany, ClaimTimeoutError, QueueFullError } from '../client/index.js';

async function main(): Promise<void> {
  // One awaited call: creates a PoolClaim, waits (on a watch) until the operator binds a ready member.
  // `await using` deletes the claim when the block ends, however it ends; the operator then deletes the member.
  {
    await using runner = await claim('ci-runners', { timeoutMs: 60_000, acquiredBy: 'example', acquiredFor: 'build-42' });
    console.log(`claimed ${runner.name} at ${runner.podIP ?? '?'} on ${runner.nodeName ?? '?'} (claim ${runner.claimName})`);
    // runner.signal aborts if the member is lost while you hold it (MemberLostError): hand it to the work.
    // e.g. await fetch(`http://${runner.podIP}:8080/run`, { signal: runner.signal });
  }

  // Several at once, all or nothing; cancellable like anything else that takes a signal.
  try {
    await using shards = await claimMany('ci-runners', 2, { timeoutMs: 30_000, signal: AbortSignal.timeout(45_000) });
    console.log(`claimed ${shards.map((m) => m.name).join(', ')}`);
  } catch (e) {
    // Typed errors carry the reason the operator reported; the claims were deleted before the error reached here.
    if (e instanceof ClaimTimeoutError) console.error(`no member in time (last reported: ${e.lastReason ?? 'nothing'})`);
    else if (e instanceof QueueFullError) console.error(`the pool's queue is full: ${e.message}`);
    else throw e;
  }
}

await main();
