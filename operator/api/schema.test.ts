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
  test.each(crdFiles())('$name is what schema.ts generates (run `make crds`)', ({ name, text }) => {
    expect(readFileSync(new URL(name, crdsDir), 'utf8')).toBe(text);
  });

  test.each(crdFiles())('$name parses back to the CRD object', ({ text }) => {
    expect(customResourceDefinitions()).toContainEqual(parse(text));
  });
});

describe('schemas agree with types.ts', () => {
  test.each(interfaceSchemas)('$name: every key is a schema property and back', ({ keys, schema }) => {
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([...keys].sort());
  });

  test.each(interfaceSchemas)('$name: its schema is part of a CRD', ({ schema }) => {
    expect([...nodes(poolSchema), ...nodes(claimSchema)]).toContain(schema);
  });
});

describe('CRD shape', () => {
  test.each([
    { name: 'InstancePool', crd: poolCrd, crdName: 'instancepools.warmpool.dev', kind: 'InstancePool', plural: 'instancepools', shortName: 'ipool' },
    { name: 'PoolClaim', crd: claimCrd, crdName: 'poolclaims.warmpool.dev', kind: 'PoolClaim', plural: 'poolclaims', shortName: 'pclaim' },
  ])('$name: names, scope and version', ({ crd, crdName, kind, plural, shortName }) => {
    expect(crd.metadata.name).toBe(crdName);
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
    {
      name: 'InstancePool',
      version: poolVersion,
      columns: ['Target=.spec.targetSize', 'Warming=.status.warmingCount', 'Ready=.status.readyCount', 'Claimed=.status.claimedCount', 'Phase=.status.phase', 'Age=.metadata.creationTimestamp'],
    },
    { name: 'PoolClaim', version: claimVersion, columns: ['Pool=.spec.poolName', 'Phase=.status.phase', 'Member=.status.member.name', 'Age=.metadata.creationTimestamp'] },
  ])('$name: printer columns', ({ version, columns }) => {
    expect(version?.additionalPrinterColumns.map((c) => `${c.name}=${c.jsonPath}`)).toEqual(columns);
  });

  test.each([
    { name: 'InstancePool spec.minSize', root: poolRoot, path: 'spec.minSize', want: POOL_DEFAULTS.minSize },
    { name: 'InstancePool spec.lifecycleClass', root: poolRoot, path: 'spec.lifecycleClass', want: POOL_DEFAULTS.lifecycleClass },
    { name: 'InstancePool spec.warmingTimeoutSeconds', root: poolRoot, path: 'spec.warmingTimeoutSeconds', want: POOL_DEFAULTS.warmingTimeoutSeconds },
    { name: 'InstancePool spec.readyTTLSeconds', root: poolRoot, path: 'spec.readyTTLSeconds', want: POOL_DEFAULTS.readyTTLSeconds },
    { name: 'InstancePool spec.claimOrder', root: poolRoot, path: 'spec.claimOrder', want: POOL_DEFAULTS.claimOrder },
    { name: 'InstancePool spec.claimQueue', root: poolRoot, path: 'spec.claimQueue', want: {} },
    { name: 'InstancePool spec.claimQueue.strategy', root: poolRoot, path: 'spec.claimQueue.strategy', want: QUEUE_DEFAULTS.strategy },
    { name: 'InstancePool spec.claimQueue.onFull', root: poolRoot, path: 'spec.claimQueue.onFull', want: QUEUE_DEFAULTS.onFull },
    { name: 'InstancePool spec.metrics.path', root: poolRoot, path: 'spec.metrics.path', want: METRICS_DEFAULTS.path },
    { name: 'InstancePool spec.metrics.intervalSeconds', root: poolRoot, path: 'spec.metrics.intervalSeconds', want: METRICS_DEFAULTS.intervalSeconds },
    { name: 'InstancePool spec.metrics.via', root: poolRoot, path: 'spec.metrics.via', want: METRICS_DEFAULTS.via },
    { name: 'InstancePool spec.maxSize', root: poolRoot, path: 'spec.maxSize', want: undefined },
    { name: 'PoolClaim spec.reclaimPolicy', root: claimRoot, path: 'spec.reclaimPolicy', want: CLAIM_DEFAULTS.reclaimPolicy },
    { name: 'PoolClaim spec.priority', root: claimRoot, path: 'spec.priority', want: CLAIM_DEFAULTS.priority },
  ])('default of $name', ({ root, path, want }) => {
    expect(at(root, path)).toBeDefined();
    expect(at(root, path)?.default).toEqual(want);
  });

  test.each([
    {
      name: 'InstancePool spec',
      root: poolRoot,
      path: 'spec',
      rules: ['!has(self.minSize) || self.minSize <= self.targetSize', '!has(self.maxSize) || self.targetSize <= self.maxSize'],
    },
    { name: 'PoolClaim spec.poolName', root: claimRoot, path: 'spec.poolName', rules: ['self == oldSelf'] },
    { name: 'PoolClaim spec.reclaimPolicy', root: claimRoot, path: 'spec.reclaimPolicy', rules: ['self == oldSelf'] },
    { name: 'InstancePool spec.template.metadata.labels', root: poolRoot, path: 'spec.template.metadata.labels', rules: ["self.all(k, !k.startsWith('warmpool.dev/'))"] },
    {
      name: 'InstancePool spec.template.metadata.annotations',
      root: poolRoot,
      path: 'spec.template.metadata.annotations',
      rules: ["self.all(k, !k.startsWith('warmpool.dev/'))"],
    },
    {
      name: 'InstancePool spec.metrics.path',
      root: poolRoot,
      path: 'spec.metrics.path',
      rules: ["!self.matches('(^|/)[.][.]?(/|$)')", "!self.matches('%2[eE]')", "!self.contains('?') && !self.contains('#') && !self.contains('\\\\')"],
    },
  ])('CEL rules of $name', ({ root, path, rules }) => {
    expect(at(root, path)?.['x-kubernetes-validations']?.map((r) => r.rule)).toEqual(rules);
  });

  // The API server refuses a CRD whose CEL it cannot bound: every map a rule walks has maxProperties, every string a
  // rule reads has maxLength.
  test.each([
    { name: 'spec.template.metadata.labels is bounded by maxProperties', root: poolRoot, path: 'spec.template.metadata.labels', bound: 'maxProperties' },
    { name: 'spec.template.metadata.annotations is bounded by maxProperties', root: poolRoot, path: 'spec.template.metadata.annotations', bound: 'maxProperties' },
    { name: 'spec.metrics.path is bounded by maxLength', root: poolRoot, path: 'spec.metrics.path', bound: 'maxLength' },
  ] as const)('$name', ({ root, path, bound }) => {
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
    { name: 'InstancePool status.observedGeneration', root: poolRoot, path: 'status.observedGeneration', type: 'integer' },
    { name: 'InstancePool status.conditions', root: poolRoot, path: 'status.conditions', type: 'array' },
    { name: 'PoolClaim status.observedGeneration', root: claimRoot, path: 'status.observedGeneration', type: 'integer' },
    { name: 'PoolClaim status.conditions', root: claimRoot, path: 'status.conditions', type: 'array' },
  ])('kstatus reads $name', ({ root, path, type }) => {
    expect(at(root, path)?.type).toBe(type);
  });

  test.each([
    { name: 'InstancePool', root: poolRoot, path: 'status.conditions' },
    { name: 'PoolClaim', root: claimRoot, path: 'status.conditions' },
  ])('$name status.conditions is a list-map keyed by type', ({ root, path }) => {
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
