// Returned members resting before they are handed out again (issue 20): the pool labels a cooling member ready once
// its cooldown is over, a resetting one once its readiness went False and True again after the return.
import type { V1Pod } from '@kubernetes/client-node';
import { API_VERSION, POOL_KIND } from '../api/types.js';
import { classifyMember } from '../member/members.js';
import type { MemberView } from '../member/members.js';
import { NOW, S, member, plan, pool } from './test-fixtures.js';

/** A member returned `returnedAgo` seconds ago, resting in `state`, Ready (since `readyAgo` s) or not. */
function resting(state: 'cooling' | 'resetting', returnedAgo: number, ready: boolean, readyAgo = 100): MemberView {
  return member('m1', 'warming', {
    stateLabel: state,
    resting: state,
    ready,
    readyAt: NOW - 100 * S,
    returnedAt: NOW - returnedAgo * S,
    readySince: ready ? NOW - readyAgo * S : undefined,
    reuses: 1,
  });
}

const summary = (kinds: { kind: string; afterMs?: number; why?: string; patch?: unknown }[]): string[] =>
  kinds.map((a) => (a.kind === 'requeue' ? `requeue ${a.afterMs ?? 0} ${a.why ?? ''}` : a.kind));

describe('resting members', () => {
  it.each<{ name: string; m: MemberView; reuse: { cooldownSeconds?: number; requireReset?: boolean }; want: string[] }>([
    { name: 'cooling, 1 s into a 3 s cooldown: waits, woken when it ends', m: resting('cooling', 1, true), reuse: { cooldownSeconds: 3 }, want: ['requeue 2000 cooldown'] },
    { name: 'cooling, cooldown over: labelled ready', m: resting('cooling', 4, true), reuse: { cooldownSeconds: 3 }, want: ['mark-ready'] },
    { name: 'cooling, cooldown over but not Ready: waits', m: resting('cooling', 4, false), reuse: { cooldownSeconds: 3 }, want: [] },
    { name: 'resetting, Ready since before the return: waits for the reset', m: resting('resetting', 4, true, 100), reuse: { requireReset: true }, want: [] },
    { name: 'resetting, gone not Ready: waits', m: resting('resetting', 4, false), reuse: { requireReset: true }, want: [] },
    { name: 'resetting, Ready again after the return: labelled ready', m: resting('resetting', 4, true, 2), reuse: { requireReset: true }, want: ['mark-ready'] },
    {
      name: 'resetting with a cooldown: reset seen but cooldown not over: waits for it',
      m: resting('resetting', 4, true, 2),
      reuse: { requireReset: true, cooldownSeconds: 10 },
      want: ['requeue 6000 cooldown'],
    },
    { name: 'resetting but requireReset turned off since: labelled ready', m: resting('resetting', 4, true, 100), reuse: {}, want: ['mark-ready'] },
    {
      name: 'resetting, never reset within warmingTimeoutSeconds of the return: recycled',
      m: resting('resetting', 700, true, 800),
      reuse: { requireReset: true },
      want: ['delete', 'create'],
    },
  ])('$name', ({ m, reuse, want }) => {
    const r = plan({ pool: pool({ targetSize: 1, reuse }), members: [m] });
    expect(summary(r.actions).filter((k) => !k.includes('warming-timeout'))).toEqual(want);
  });

  it('the patch hands it back only if it is still resting as seen (test of its label)', () => {
    const r = plan({ pool: pool({ targetSize: 1, reuse: { cooldownSeconds: 3 } }), members: [resting('cooling', 4, true)] });
    const mark = r.actions.find((a) => a.kind === 'mark-ready');
    expect(mark?.kind === 'mark-ready' && mark.patch).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'uid-m1' },
      { op: 'test', path: '/metadata/labels/warmpool.dev~1state', value: 'cooling' },
      { op: 'replace', path: '/metadata/labels/warmpool.dev~1state', value: 'ready' },
    ]);
  });

  it('a resting member counts as warm: the pool makes no extra member for it', () => {
    const r = plan({ pool: pool({ targetSize: 1, reuse: { cooldownSeconds: 3 } }), members: [resting('cooling', 1, true)] });
    expect(r.actions.filter((a) => a.kind === 'create')).toEqual([]);
    expect(r.status).toMatchObject({ warmingCount: 1, readyCount: 0 });
  });
});

describe('classifyMember of a returned member', () => {
  const pod = (state: string, ready: boolean): V1Pod => ({
    metadata: {
      name: 'm1',
      uid: 'u1',
      labels: { 'warmpool.dev/pool': 'web', 'warmpool.dev/state': state },
      annotations: { 'warmpool.dev/returned-at': new Date(NOW).toISOString(), 'warmpool.dev/reuse-count': '2' },
      ownerReferences: [{ apiVersion: API_VERSION, kind: POOL_KIND, name: 'web', uid: 'pool-uid', controller: true }],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(NOW + 2 * S) }] },
  });
  it.each([
    { state: 'cooling', ready: true, want: { phase: 'warming', resting: 'cooling', healthy: true, reuses: 2, returnedAt: NOW, readySince: NOW + 2 * S } },
    { state: 'resetting', ready: false, want: { phase: 'warming', resting: 'resetting', healthy: true, reuses: 2, returnedAt: NOW, readySince: undefined } },
    { state: 'ready', ready: true, want: { phase: 'ready', resting: undefined, healthy: true, reuses: 2, returnedAt: NOW, readySince: NOW + 2 * S } },
  ])('$state, Ready $ready', ({ state, ready, want }) => {
    expect(classifyMember(pod(state, ready))).toMatchObject(want);
  });
});
