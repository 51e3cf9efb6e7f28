// The shared test cluster's audit log (it runs with audit on): what a user sent, when the API server received it,
// and what it answered. Tests count an identity's writes with it, the way `make bench` does.
import { readFileSync } from 'node:fs';

export interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
  requestReceivedTimestamp?: string;
}

export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Every request of user the API server answered and received from since on (to, if given), oldest first. */
export function requestsBy(user: string, since: number, to = Number.POSITIVE_INFINITY): AuditEvent[] {
  const file = process.env.WARMPOOL_TEST_AUDIT_LOG;
  if (!file) throw new Error('no audit log: the test cluster runs with audit on');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"${user}"`))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.user.username === user)
    .filter((e) => {
      const t = Date.parse(e.requestReceivedTimestamp ?? e.stageTimestamp);
      return t >= since && t <= to;
    });
}

/** The writes among requestsBy (Leases included). */
export function writesBy(user: string, since: number, to = Number.POSITIVE_INFINITY): AuditEvent[] {
  return requestsBy(user, since, to).filter((e) => WRITE_VERBS.has(e.verb));
}

/** "patch pods/x 200" per event: what a failing assertion prints. */
export const describeWrites = (events: readonly AuditEvent[]): string[] =>
  events.map((e) => `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}/${e.objectRef?.name ?? ''} ${e.responseStatus?.code ?? '?'}`);
