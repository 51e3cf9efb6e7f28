// What controllers read: a cache of one kind of object with change handlers. In cluster-wide mode it is one
// informer; in namespaced mode (RBAC limited to a list of namespaces) one informer per namespace seen as one.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SupervisedInformer } from './informer.js';

export interface Cache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  onAdd(fn: (obj: T) => void): void;
  onUpdate(fn: (obj: T, old: T | undefined) => void): void;
  onDelete(fn: (obj: T) => void): void;
}

export class InformerSet<T extends KubernetesObject> implements Cache<T> {
  constructor(private readonly parts: readonly SupervisedInformer<T>[]) {}

  get(name: string, namespace?: string): T | undefined {
    for (const p of this.parts) {
      const o = p.get(name, namespace);
      if (o) return o;
    }
    return undefined;
  }

  list(namespace?: string): readonly T[] {
    const [only] = this.parts;
    return this.parts.length === 1 && only ? only.list(namespace) : this.parts.flatMap((p) => p.list(namespace));
  }

  onAdd(fn: (obj: T) => void): void {
    for (const p of this.parts) p.onAdd(fn);
  }

  onUpdate(fn: (obj: T, old: T | undefined) => void): void {
    for (const p of this.parts) p.onUpdate(fn);
  }

  onDelete(fn: (obj: T) => void): void {
    for (const p of this.parts) p.onDelete(fn);
  }

  get synced(): boolean {
    return this.parts.every((p) => p.synced);
  }

  /** Why the parts that are not ready are not (see SupervisedInformer.notReadyReason); empty when all are. */
  notReadyReasons(): string[] {
    return this.parts.flatMap((p) => p.notReadyReason() ?? []);
  }

  /** See SupervisedInformer.retryNow: restarts waiting out a back-off go now. */
  retryNow(): void {
    for (const p of this.parts) p.retryNow();
  }

  async start(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.stop()));
  }
}
