// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: candidates read the
// lease every retry period and take it over when it is released or has not changed for its duration; the leader
// renews it every retry period and steps down if it cannot renew for renewDeadline (shorter than the lease
// duration, so it stops acting before anyone else may start). Every write carries the resourceVersion it read, so
// two candidates racing for one lease get one 201/200 and one 409.
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { ConfigurationOptions, KubeConfig, V1Lease } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { acquiredSpec, decideLease, leaseBody, releasedSpec, renewedSpec } from './lease.js';
import { timeoutOptions } from './request-options.js';
import { Callbacks } from './callbacks.js';
import { clampDelayMs } from './timers.js';

export type LeaseClient = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeaderElectorOptions {
  kc: KubeConfig;
  /** The lease API to use instead of one made from kc (instrumented clients, tests). */
  coordination?: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per replica, e.g. the pod name. */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Became leader; signal aborts when leadership ends. Not awaited: it may run for as long as it leads. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /**
   * Leadership ended, awaited (before the lease is released on stop). 'unreachable': renewals failed for
   * renewDeadline without anyone seen taking the lease (an API server outage); the elector keeps campaigning and
   * calls onStartedLeading again when it gets the lease back, or this again with 'taken' when it sees another
   * holder. 'taken': another identity holds the lease. 'stopped': stop() was called.
   */
  onStoppedLeading(reason: LeadershipEnd): void | Promise<void>;
  /** Each successful acquire or renew: this replica may act until untilMs (local clock), the write fence's bound. */
  onRenewed?(untilMs: number): void;
  /** The lease holder changed (including to this identity). */
  onNewLeader?(identity: string): void;
  /** API errors other than lost races, and errors thrown by the callbacks. */
  onError?(err: unknown): void;
}

export type LeadershipEnd = 'unreachable' | 'taken' | 'stopped';

/** What one election round found: we hold the lease, another identity does, or an error left it unknown. */
export type RoundOutcome = 'held' | 'taken' | 'failed';

/**
 * The pure decision after one round. 'start': lead (again); 'suspend': stop work but stay and campaign, since
 * nobody else could take the lease while we cannot reach the API server either; 'lose': another holder was seen,
 * so this replica is deposed (the process exits so the restart is visible); 'none': nothing changes.
 */
export function leadershipStep(input: {
  leading: boolean;
  /** Stepped down after failed renewals, no other holder seen since. */
  suspended: boolean;
  outcome: RoundOutcome;
  msSinceRenew: number;
  renewDeadlineMs: number;
}): 'start' | 'suspend' | 'lose' | 'none' {
  switch (input.outcome) {
    case 'held':
      return input.leading ? 'none' : 'start';
    case 'taken':
      return input.leading || input.suspended ? 'lose' : 'none';
    case 'failed':
      return input.leading && input.msSinceRenew >= input.renewDeadlineMs ? 'suspend' : 'none';
  }
}

// Candidates spread their reads over retryPeriod * [1, 1 + JITTER), as client-go's JitterUntil does.
const JITTER = 0.2;
// Smallest per-request timeout, so a renewal right at its deadline still gets a real chance.
const MIN_REQUEST_TIMEOUT_MS = 500;

export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly api: LeaseClient;
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  private leading = false;
  private abort: AbortController | undefined;
  /** The lease as we last read or wrote it; the leader renews from it without reading again. */
  private lease: V1Lease | undefined;
  private observedVersion: string | undefined;
  private observedAtMs = 0;
  private holder: string | undefined;
  private lastRenewMs = 0;
  private stopping = false;
  /** Stepped down because renewals failed; nobody was seen taking the lease. */
  private suspended = false;
  private releaseOnStop = true;
  private running: Promise<void> | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  private readonly callbacks: Callbacks;

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.callbacks = new Callbacks((err) => opts.onError?.(err));
    this.durationS = opts.leaseDurationSeconds ?? 15;
    const renewDeadlineS = opts.renewDeadlineSeconds ?? 10;
    const retryS = opts.retryPeriodSeconds ?? 2;
    if (!(this.durationS > renewDeadlineS && renewDeadlineS > retryS * (1 + JITTER) && retryS > 0)) {
      throw new Error(
        `leader election: need leaseDuration > renewDeadline > ${1 + JITTER} * retryPeriod > 0 ` +
          `(got ${this.durationS}, ${renewDeadlineS}, ${retryS})`,
      );
    }
    this.renewDeadlineMs = renewDeadlineS * 1000;
    this.retryMs = retryS * 1000;
    this.api = opts.coordination ?? opts.kc.makeApiClient(CoordinationV1Api);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder of the lease as last seen, if any. */
  leaderIdentity(): string | undefined {
    return this.holder;
  }

  /** Campaigns, leads and campaigns again after losing, until stop(); resolves once stopped (and released). */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Steps down (onStoppedLeading awaited) and, with release (the default), frees the lease for a peer at once. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.releaseOnStop = opts.release ?? true;
    this.stopping = true;
    clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const startedMs = Date.now();
      const outcome = await this.tryAcquireOrRenew(startedMs);
      if (this.stopping) break;
      if (outcome === 'held') {
        this.lastRenewMs = startedMs;
        // Counted from before the request went out: nobody can have taken the lease over before then.
        this.callbacks.call(() => this.opts.onRenewed?.(startedMs + this.renewDeadlineMs));
      }
      const step = leadershipStep({
        leading: this.leading,
        suspended: this.suspended,
        outcome,
        msSinceRenew: Date.now() - this.lastRenewMs,
        renewDeadlineMs: this.renewDeadlineMs,
      });
      if (step === 'start') {
        this.suspended = false;
        this.startLeading();
      } else if (step === 'suspend') {
        this.suspended = true;
        await this.stopLeading('unreachable');
      } else if (step === 'lose') {
        this.suspended = false;
        await this.stopLeading('taken');
      }
      await this.sleep(this.leading ? this.retryMs : this.retryMs * (1 + JITTER * Math.random()));
    }
    if (this.leading) await this.stopLeading('stopped');
    if (this.releaseOnStop) await this.release();
  }

  /**
   * One round: read (unless leading with a known version), decide, write. 'held': we hold the lease now; 'taken':
   * another identity holds it; 'failed': an API error or a lost race, the outcome is unknown until the next round.
   */
  private async tryAcquireOrRenew(now: number): Promise<'held' | 'taken' | 'failed'> {
    const options = timeoutOptions(this.requestTimeoutMs(now));
    try {
      let observed = this.leading ? this.lease : undefined;
      if (observed === undefined) {
        observed = await this.read(options);
        this.observe(observed, now);
      }
      const decision = decideLease(observed, this.opts.identity, now, this.durationS, this.observedAtMs);
      if (decision.action === 'wait') return 'taken';
      const { namespace, name, identity } = this.opts;
      if (decision.action === 'create') {
        const body = leaseBody(namespace, name, acquiredSpec(undefined, identity, now, this.durationS));
        this.lease = await this.api.createNamespacedLease({ namespace, body }, options);
      } else {
        const spec =
          decision.action === 'renew'
            ? renewedSpec(observed?.spec, identity, now, this.durationS)
            : acquiredSpec(observed?.spec, identity, now, this.durationS);
        const body = leaseBody(namespace, name, spec, observed);
        this.lease = await this.api.replaceNamespacedLease({ namespace, name, body }, options);
      }
      this.observe(this.lease, now);
      return 'held';
    } catch (err) {
      // Read again next round. A 409 only means another candidate wrote first.
      this.lease = undefined;
      if (!isConflict(err) && !isAlreadyExists(err)) this.callbacks.report(err);
      return 'failed';
    }
  }

  private async read(options: ConfigurationOptions): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name }, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  // Remembers when this version of the lease was first seen: expiry counts from then.
  private observe(lease: V1Lease | undefined, now: number): void {
    const version = lease?.metadata?.resourceVersion;
    if (version !== this.observedVersion) {
      this.observedVersion = version;
      this.observedAtMs = now;
    }
    const holder = lease?.spec?.holderIdentity;
    if (holder !== this.holder) {
      this.holder = holder;
      if (holder !== undefined && holder !== '') this.callbacks.call(() => this.opts.onNewLeader?.(holder));
    }
  }

  // A leader's request must not outlive its renew deadline, or it would notice too late that it has to step down.
  private requestTimeoutMs(now: number): number {
    if (!this.leading) return this.renewDeadlineMs;
    return Math.max(MIN_REQUEST_TIMEOUT_MS, this.lastRenewMs + this.renewDeadlineMs - now);
  }

  private startLeading(): void {
    this.leading = true;
    const abort = new AbortController();
    this.abort = abort;
    void this.callbacks.callAsync(() => this.opts.onStartedLeading(abort.signal));
  }

  private async stopLeading(reason: LeadershipEnd): Promise<void> {
    this.leading = false;
    this.abort?.abort();
    this.abort = undefined;
    await this.callbacks.callAsync(() => this.opts.onStoppedLeading(reason));
  }

  private async release(): Promise<void> {
    const held = this.lease;
    if (held?.spec?.holderIdentity !== this.opts.identity) return;
    const { namespace, name } = this.opts;
    const body = leaseBody(namespace, name, releasedSpec(held.spec, Date.now()), held);
    try {
      this.lease = await this.api.replaceNamespacedLease({ namespace, name, body }, timeoutOptions(this.renewDeadlineMs));
    } catch (err) {
      // A 409 means the lease already moved on; nothing to release.
      if (!isConflict(err)) this.callbacks.report(err);
    }
  }

  // Returns at once when stopping, so a stop() from inside a callback does not wait out a retry period.
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.sleepTimer = setTimeout(this.wake, clampDelayMs(ms));
    });
  }
}
