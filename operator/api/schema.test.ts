import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { crdFiles } from './crd-files.js';
import { CLAIM_DEFAULTS, METRICS_DEFAULTS, POOL_DEFAULTS, QUEUE_DEFAULTS } from './defaults.js';
import type { Schema } from './openapi.js';
import type { CustomResourceDefinition, OpenApiSchema } from './schema.js';
import { claimSchema, customResourceDefinitions, interfaceSchemas, poolSchema } from './schema.js';

const crdsDir = new URL('../../crds/', import.meta.url);
const [poolCrd, claimCrd] = customResourceDefinitions() as [CustomResourceDefinition, CustomResourceDefinition];
const poolVersion = poolCrd.spec.versions[0];
const claimVersion = claimCrd.spec.versions[0];
const poolRoot = poolVersion?.schema.openAPIV3Schema ?? {};
const claimRoot = claimVersion?.schema.openAPIV3Schema ?? {};

function at(schema: OpenApiSchema, path: string): OpenApiSchema | undefined {
  let node: OpenApiSchema | undefined = schema;
  for (const step of path.split('.')) node = step === '[]' ? node?.items : node?.properties?.[step];
  return node;
}

function nodes(schema: Schema): Schema[] {
  return [
    schema,
    ...Object.values(schema.properties ?? {}).flatMap(nodes),
    ...(schema.items ? nodes(schema.items) : []),
    ...(schema.additionalProperties ? nodes(schema.additionalProperties) : []),
  ];
}

describe('crds/', () => {
  test.each(crdFiles().map((f) => [f.name, f.text]))('%s is what schema.ts generates (run `make crds`)', (name, text) => {
    expect(readFileSync(new URL(name, crdsDir), 'utf8')).toBe(text);
  });

  test.each(crdFiles().map((f) => [f.name, f.text]))('%s parses back to the CRD object', (_name, text) => {
    expect(customResourceDefinitions()).toContainEqual(parse(text));
  });
});

describe('schemas agree with types.ts', () => {
  test.each(interfaceSchemas.map((i) => [i.name, i]))('%s: every key is a schema property and back', (_name, entry) => {
    expect(Object.keys(entry.schema.properties ?? {}).sort()).toEqual([...entry.keys].sort());
  });

  test.each(interfaceSchemas.map((i) => [i.name, i]))('%s: its schema is part of a CRD', (_name, entry) => {
    expect([...nodes(poolSchema), ...nodes(claimSchema)]).toContain(entry.schema);
  });
});

describe('CRD shape', () => {
  test.each([
    [poolCrd, 'instancepools.warmpool.dev', 'InstancePool', 'instancepools', 'ipool'],
    [claimCrd, 'poolclaims.warmpool.dev', 'PoolClaim', 'poolclaims', 'pclaim'],
  ])('%#: names, scope and version', (crd, name, kind, plural, shortName) => {
    expect(crd.metadata.name).toBe(name);
    expect(crd.spec.group).toBe('warmpool.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toEqual({
      kind,
      listKind: `${kind}List`,
      plural,
      singular: kind.toLowerCase(),
      shortNames: [shortName],
      categories: ['warmpool'],
    });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1alpha1', true, true]]);
    expect(crd.spec.versions[0]?.subresources.status).toEqual({});
  });

  test('InstancePool scales on targetSize', () => {
    expect(poolVersion?.subresources.scale).toEqual({
      specReplicasPath: '.spec.targetSize',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    expect(claimVersion?.subresources.scale).toBeUndefined();
  });

  test.each([
    [poolVersion, ['Target=.spec.targetSize', 'Warming=.status.warmingCount', 'Ready=.status.readyCount', 'Claimed=.status.claimedCount', 'Phase=.status.phase', 'Age=.metadata.creationTimestamp']],
    [claimVersion, ['Pool=.spec.poolName', 'Phase=.status.phase', 'Member=.status.member.name', 'Age=.metadata.creationTimestamp']],
  ])('%#: printer columns', (version, columns) => {
    expect(version?.additionalPrinterColumns.map((c) => `${c.name}=${c.jsonPath}`)).toEqual(columns);
  });

  test.each([
    [poolRoot, 'spec.minSize', POOL_DEFAULTS.minSize],
    [poolRoot, 'spec.lifecycleClass', POOL_DEFAULTS.lifecycleClass],
    [poolRoot, 'spec.warmingTimeoutSeconds', POOL_DEFAULTS.warmingTimeoutSeconds],
    [poolRoot, 'spec.readyTTLSeconds', POOL_DEFAULTS.readyTTLSeconds],
    [poolRoot, 'spec.claimOrder', POOL_DEFAULTS.claimOrder],
    [poolRoot, 'spec.claimQueue', {}],
    [poolRoot, 'spec.claimQueue.strategy', QUEUE_DEFAULTS.strategy],
    [poolRoot, 'spec.claimQueue.onFull', QUEUE_DEFAULTS.onFull],
    [poolRoot, 'spec.metrics.path', METRICS_DEFAULTS.path],
    [poolRoot, 'spec.metrics.intervalSeconds', METRICS_DEFAULTS.intervalSeconds],
    [poolRoot, 'spec.metrics.via', METRICS_DEFAULTS.via],
    [poolRoot, 'spec.maxSize', undefined],
    [claimRoot, 'spec.reclaimPolicy', CLAIM_DEFAULTS.reclaimPolicy],
    [claimRoot, 'spec.priority', CLAIM_DEFAULTS.priority],
  ])('%#: default of %s', (root, path, expected) => {
    expect(at(root, path)).toBeDefined();
    expect(at(root, path)?.default).toEqual(expected);
  });

  test.each([
    [poolRoot, 'spec', ['!has(self.minSize) || self.minSize <= self.targetSize', '!has(self.maxSize) || self.targetSize <= self.maxSize']],
    [claimRoot, 'spec.poolName', ['self == oldSelf']],
    [claimRoot, 'spec.reclaimPolicy', ['self == oldSelf']],
    [poolRoot, 'spec.template.metadata.labels', ["self.all(k, !k.startsWith('warmpool.dev/'))"]],
    [poolRoot, 'spec.template.metadata.annotations', ["self.all(k, !k.startsWith('warmpool.dev/'))"]],
    [
      poolRoot,
      'spec.metrics.path',
      ["!self.matches('(^|/)[.][.]?(/|$)')", "!self.matches('%2[eE]')", "!self.contains('?') && !self.contains('#') && !self.contains('\\\\')"],
    ],
  ])('%#: CEL rules of %s', (root, path, rules) => {
    expect(at(root, path)?.['x-kubernetes-validations']?.map((r) => r.rule)).toEqual(rules);
  });

  // The API server refuses a CRD whose CEL it cannot bound: every map a rule walks has maxProperties, every string a
  // rule reads has maxLength.
  test.each([
    [poolRoot, 'spec.template.metadata.labels', 'maxProperties'],
    [poolRoot, 'spec.template.metadata.annotations', 'maxProperties'],
    [poolRoot, 'spec.metrics.path', 'maxLength'],
  ] as const)('%#: %s is bounded by %s', (root, path, bound) => {
    expect(at(root, path)?.[bound]).toBeGreaterThan(0);
  });

  // Every integer a user sets has a maximum, every string a length (bound every number).
  test.each([poolRoot, claimRoot])('%#: every spec integer has a maximum, every free spec string a maxLength', (root) => {
    const unbounded: string[] = [];
    const walk = (node: OpenApiSchema, path: string): void => {
      if (node.type === 'integer' && node.maximum === undefined) unbounded.push(path);
      if (node.type === 'string' && node.maxLength === undefined && !node.enum) unbounded.push(path);
      if (node['x-kubernetes-preserve-unknown-fields']) return;
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`);
    };
    walk(at(root, 'spec') ?? {}, 'spec');
    expect(unbounded).toEqual([]);
  });

  test.each([
    [poolRoot, 'status.observedGeneration', 'integer'],
    [poolRoot, 'status.conditions', 'array'],
    [claimRoot, 'status.observedGeneration', 'integer'],
    [claimRoot, 'status.conditions', 'array'],
  ])('%#: kstatus reads %s', (root, path, type) => {
    expect(at(root, path)?.type).toBe(type);
  });

  test.each([
    ['status.conditions', poolRoot],
    ['status.conditions', claimRoot],
  ])('%s is a list-map keyed by type', (path, root) => {
    expect(at(root, path)).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
  });

  test('the pod template keeps every pod spec field but requires a container', () => {
    expect(at(poolRoot, 'spec.template.spec')).toMatchObject({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      required: ['containers'],
    });
    expect(at(poolRoot, 'spec.template.spec.containers')).toMatchObject({ minItems: 1 });
    expect(at(poolRoot, 'spec.template.spec.containers.[]')).toMatchObject({
      required: ['name'],
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  test.each([poolRoot, claimRoot])('%#: structural: every node has a type (or preserves unknown fields), arrays have items', (root) => {
    const walk = (node: OpenApiSchema, path: string): string[] => [
      ...(node.type === undefined && !node['x-kubernetes-preserve-unknown-fields'] ? [`${path}: no type`] : []),
      ...(node.type === 'array' && !node.items ? [`${path}: no items`] : []),
      ...Object.entries(node.properties ?? {}).flatMap(([k, v]) => walk(v, `${path}.${k}`)),
      ...(node.items ? walk(node.items, `${path}[]`) : []),
      ...(node.additionalProperties ? walk(node.additionalProperties, `${path}{}`) : []),
    ];
    expect(walk(root, '')).toEqual([]);
  });
});
