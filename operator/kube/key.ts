// The one object key of the work queues and caches: "namespace/name". Joined and split only here, so no caller
// re-derives it by hand (a name never contains '/', a namespace never does either: the first '/' splits).

/** A namespaced object's identity. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

/** "namespace/name". */
export function joinKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The inverse of joinKey; a key without '/' is a name in the empty namespace. */
export function splitKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
