import { OwnWrites, type OwnWrite } from './own-writes.js';

interface Obj {
  id: string;
  rv: string;
  state: string;
}

const TTL = 30_000;

/** Our write moved the object from version `from` to `written`; the overlay needs the context to say yes. */
function write(from: string, written: Obj): OwnWrite<Obj, boolean> {
  return {
    apply: (_cached, allowed) => (allowed ? written : undefined),
    shown: (cached) => cached.rv !== from,
    echo: (cached) => cached.rv === written.rv,
  };
}

describe('OwnWrites.view', () => {
  const written: Obj = { id: 'a', rv: '2', state: 'claimed' };
  const cases: {
    name: string;
    recorded: boolean;
    cached: Obj;
    ageMs: number;
    context: boolean;
    want: Obj;
    keptAfter: boolean;
  }[] = [
    { name: 'nothing recorded: the cache', recorded: false, cached: { id: 'a', rv: '1', state: 'ready' }, ageMs: 0, context: true, want: { id: 'a', rv: '1', state: 'ready' }, keptAfter: false },
    { name: 'cache behind our write: our write', recorded: true, cached: { id: 'a', rv: '1', state: 'ready' }, ageMs: 10, context: true, want: written, keptAfter: true },
    { name: 'cache shows our write: the cache, record goes', recorded: true, cached: { id: 'a', rv: '2', state: 'claimed' }, ageMs: 10, context: true, want: { id: 'a', rv: '2', state: 'claimed' }, keptAfter: false },
    { name: 'cache moved past it: the cache, record goes', recorded: true, cached: { id: 'a', rv: '3', state: 'ready' }, ageMs: 10, context: true, want: { id: 'a', rv: '3', state: 'ready' }, keptAfter: false },
    { name: 'record expired: the cache, record goes', recorded: true, cached: { id: 'a', rv: '1', state: 'ready' }, ageMs: TTL, context: true, want: { id: 'a', rv: '1', state: 'ready' }, keptAfter: false },
    { name: 'overlay says not now: the cache, record kept', recorded: true, cached: { id: 'a', rv: '1', state: 'ready' }, ageMs: 10, context: false, want: { id: 'a', rv: '1', state: 'ready' }, keptAfter: true },
  ];
  it.each(cases)('$name', ({ recorded, cached, ageMs, context, want, keptAfter }) => {
    let now = 1_000;
    const own = new OwnWrites<Obj, boolean>({ ttlMs: TTL, now: () => now });
    if (recorded) own.record('a', write('1', written));
    now += ageMs;
    expect(own.view('a', cached, context)).toEqual(want);
    expect(own.size).toBe(keptAfter ? 1 : 0);
  });
});

describe('OwnWrites', () => {
  it('forget drops a failed write', () => {
    const own = new OwnWrites<Obj, boolean>({ ttlMs: TTL, now: () => 0 });
    own.record('a', write('1', { id: 'a', rv: '2', state: 'claimed' }));
    own.forget('a');
    expect(own.view('a', { id: 'a', rv: '1', state: 'ready' }, true)).toEqual({ id: 'a', rv: '1', state: 'ready' });
  });
  it('isEcho knows our write coming back, and only it', () => {
    const own = new OwnWrites<Obj, boolean>({ ttlMs: TTL, now: () => 0 });
    own.record('a', write('1', { id: 'a', rv: '2', state: 'claimed' }));
    expect(own.isEcho('a', { id: 'a', rv: '2', state: 'claimed' })).toBe(true);
    expect(own.isEcho('a', { id: 'a', rv: '3', state: 'claimed' })).toBe(false);
    expect(own.isEcho('b', { id: 'b', rv: '2', state: 'claimed' })).toBe(false);
  });
  it('viewAll applies per object and drops expired records of objects no longer listed', () => {
    let now = 0;
    const own = new OwnWrites<Obj, boolean>({ ttlMs: TTL, now: () => now });
    own.record('gone', write('1', { id: 'gone', rv: '2', state: 'claimed' }));
    now = 5;
    own.record('a', write('1', { id: 'a', rv: '2', state: 'claimed' }));
    now = TTL;
    const listed = [{ id: 'a', rv: '1', state: 'ready' }, { id: 'b', rv: '1', state: 'ready' }];
    expect(own.viewAll(listed, (o) => o.id, true)).toEqual([{ id: 'a', rv: '2', state: 'claimed' }, { id: 'b', rv: '1', state: 'ready' }]);
    expect(own.size).toBe(1);
  });
});
