// kubectl-warmpool: the kubectl plugin. `kubectl warmpool claim|release|status|top`, with kubectl's flags, output
// formats and exit codes (0 ok, 1 error). The shell here reads and writes through the client library; what it prints
// comes from the pure renderers (render.ts, jsonpath.ts).
import type { V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { CLAIM_PLURAL, GROUP, LABEL_POOL, POOL_PLURAL, VERSION } from '../../operator/api/types.js';
import type { InstancePool, PoolClaim, ReclaimPolicy } from '../../operator/api/types.js';
import { errorMessage, isNotFound, statusCode } from '../../operator/kube/errors.js';
import { parsePodMetricsList, type PodUsage } from '../../operator/utilization/utilization.js';
import { claim, claimManifest, createClaim, releaseClaim, type ClaimOptions } from '../claim.js';
import { ClaimFailedError, ClaimTimeoutError, WarmpoolError } from '../errors.js';
import { kubeFor, type Kube, type KubeOptions } from '../kube.js';
import { parseArgs, parseDuration, parseIntFlag, parseOutput, UsageError, type OutputFormat, type ParsedArgs } from './args.js';
import { JsonPathError, renderJsonPath } from './jsonpath.js';
import { renderStatus, renderTop } from './render.js';

export const HELP = `Claim and inspect warm pool members (warmpool.dev InstancePools and PoolClaims).

Usage:
  kubectl warmpool claim POOL [--wait] [--timeout DURATION] [-o FORMAT] [--acquired-by WHO] [--acquired-for WHAT]
                              [--priority N] [--reclaim-policy Delete|Return] [--wait-timeout DURATION]
  kubectl warmpool release CLAIM [CLAIM...] [-o name]
  kubectl warmpool status [POOL]
  kubectl warmpool top [POOL]

Commands:
  claim     Create a PoolClaim of POOL (name generated from the pool's). With --wait, wait until the operator binds a
            member and print the bound claim; if the wait fails, times out or is interrupted (Ctrl-C), the claim is
            deleted. Without --wait, print the created claim and return at once. A bound claim stays until released.
  release   Delete claims: the operator deletes the member (reclaimPolicy Delete) or returns it to the pool (Return).
  status    Each pool (or POOL): phase, members by state with age and warm-up, pending claims, utilization, conditions.
  top       Utilization per pool (from the pool's status: requests per second, in flight, cpu and memory) and per
            member (cpu and memory from metrics.k8s.io, like kubectl top; request rates exist per pool only).

Flags:
      --kubeconfig PATH        kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME           kubeconfig context to use
  -n, --namespace NS           namespace (default: the context's namespace, else "default")
  -o, --output FORMAT          claim and release: name | json | yaml | jsonpath=TEMPLATE
      --wait                   claim: wait until Bound
      --timeout DURATION       claim --wait: give up after this long (30s, 2m, 1m30s); default: no limit
      --wait-timeout DURATION  claim: spec.waitTimeoutSeconds, the operator's own deadline (reason NoReadyMembers)
      --acquired-by WHO        claim: spec.acquiredBy (stamped on the member; FairShare queues rotate over it)
      --acquired-for WHAT      claim: spec.acquiredFor (stamped on the member)
      --priority N             claim: spec.priority, higher is served first
      --reclaim-policy P       claim: Delete (default) or Return
  -h, --help                   this help

JSONPath: the subset kubectl users use: {.a.b}, {.a[0].b}, {.a[*].b}, {.a['x.y']} or {.a.x\\.y}, {.} for the whole
object, {"\\n"} and other quoted text, literal text between expressions, and {range .a[*]}...{end}. Filters [?()],
slices [a:b] and recursive descent (..) are not supported.

Exit status: 0 on success, 1 on any error (including a claim that failed, timed out or was interrupted).

Examples:
  kubectl warmpool claim ci-runners --wait -o jsonpath='{.status.member.podIP}{"\\n"}'
  claim=$(kubectl warmpool claim ci-runners --wait --timeout 2m -o name) && ... && kubectl warmpool release "\${claim#*/}"
  kubectl warmpool status ci-runners
`;

export interface PluginIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Aborted on Ctrl-C: a claim waiting is deleted before the plugin exits. */
  signal?: AbortSignal;
}

const CLAIM_RESOURCE = `poolclaim.${GROUP}`;

function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function kubeOptions(p: ParsedArgs): KubeOptions {
  const opts: KubeOptions = {};
  const path = flagString(p, 'kubeconfig');
  const context = flagString(p, 'context');
  if (path !== undefined) opts.kubeconfigPath = path;
  if (context !== undefined) opts.context = context;
  return opts;
}

function namespaceOf(p: ParsedArgs, kube: Kube): string {
  return flagString(p, 'namespace') ?? kube.namespace;
}

function printObject(obj: unknown, name: string, format: OutputFormat, io: PluginIO, fallback: string): void {
  switch (format.kind) {
    case 'name':
      io.out(`${CLAIM_RESOURCE}/${name}\n`);
      return;
    case 'json':
      io.out(`${JSON.stringify(obj, null, 4)}\n`);
      return;
    case 'yaml':
      io.out(stringify(obj));
      return;
    case 'jsonpath':
      io.out(renderJsonPath(format.template, obj));
      return;
    default:
      io.out(fallback);
  }
}

function claimOptions(p: ParsedArgs, kube: Kube): ClaimOptions {
  const opts: ClaimOptions = { kubeConfig: kube.kc, namespace: namespaceOf(p, kube) };
  const by = flagString(p, 'acquired-by');
  const forWhat = flagString(p, 'acquired-for');
  const priority = flagString(p, 'priority');
  const policy = flagString(p, 'reclaim-policy');
  const waitTimeout = flagString(p, 'wait-timeout');
  if (by !== undefined) opts.acquiredBy = by;
  if (forWhat !== undefined) opts.acquiredFor = forWhat;
  if (priority !== undefined) opts.priority = parseIntFlag('priority', priority, -(2 ** 31), 2 ** 31 - 1);
  if (policy !== undefined) {
    if (policy !== 'Delete' && policy !== 'Return') throw new UsageError(`invalid argument "${policy}" for "--reclaim-policy": Delete or Return`);
    opts.reclaimPolicy = policy satisfies ReclaimPolicy;
  }
  if (waitTimeout !== undefined) opts.waitTimeoutSeconds = Math.ceil(parseDuration('wait-timeout', waitTimeout) / 1000);
  return opts;
}

async function claimCommand(p: ParsedArgs, io: PluginIO): Promise<number> {
  const [pool, ...extra] = p.args;
  if (pool === undefined || extra.length > 0) throw new UsageError('claim takes one argument, the pool: kubectl warmpool claim POOL');
  const format = parseOutput(flagString(p, 'output'));
  const wait = p.flags.get('wait') === true;
  const timeout = flagString(p, 'timeout');
  if (timeout !== undefined && !wait) throw new UsageError('--timeout applies to claim --wait only');
  const kube = kubeFor(kubeOptions(p));
  const opts = claimOptions(p, kube);
  if (format.kind === 'jsonpath') renderJsonPath(format.template, {}); // a bad template fails before anything is created
  if (!wait) {
    const created = await createClaim(kube, claimManifest(pool, opts.namespace ?? kube.namespace, opts));
    const name = created.metadata.name ?? '';
    printObject(created, name, format, io, `${CLAIM_RESOURCE}/${name} created\n`);
    return 0;
  }
  if (timeout !== undefined) {
    const ms = parseDuration('timeout', timeout);
    if (ms > 0) opts.timeoutMs = ms;
  }
  if (io.signal !== undefined) opts.signal = io.signal;
  const member = await claim(pool, opts);
  // The claim outlives the plugin: it is the user's to release.
  member.detach();
  const ip = member.podIP ?? '<none>';
  const node = member.nodeName ?? '<none>';
  printObject(member.claim, member.claimName, format, io, `${CLAIM_RESOURCE}/${member.claimName} bound: member ${member.name}, IP ${ip}, node ${node}\n`);
  return 0;
}

async function releaseCommand(p: ParsedArgs, io: PluginIO): Promise<number> {
  if (p.args.length === 0) throw new UsageError('release takes the claims to delete: kubectl warmpool release CLAIM [CLAIM...]');
  const format = parseOutput(flagString(p, 'output'));
  if (format.kind !== 'default' && format.kind !== 'name') throw new UsageError('release prints -o name or its default only');
  const kube = kubeFor(kubeOptions(p));
  const namespace = namespaceOf(p, kube);
  let code = 0;
  for (const name of p.args) {
    try {
      await releaseClaim(name, { kubeConfig: kube.kc, namespace });
      io.out(format.kind === 'name' ? `${CLAIM_RESOURCE}/${name}\n` : `${CLAIM_RESOURCE} "${name}" deleted\n`);
    } catch (e) {
      io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      code = 1;
    }
  }
  return code;
}

async function listCustom<T>(kube: Kube, namespace: string, plural: string): Promise<T[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })) as { items?: T[] };
  return list.items ?? [];
}

async function getPool(kube: Kube, namespace: string, name: string): Promise<InstancePool> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: POOL_PLURAL, name })) as InstancePool;
  } catch (e) {
    if (isNotFound(e)) throw new WarmpoolError('NotFound', `InstancePool ${namespace}/${name} not found`, { cause: e });
    throw e;
  }
}

async function memberPods(kube: Kube, namespace: string, pool: string | undefined): Promise<V1Pod[]> {
  const labelSelector = pool === undefined ? LABEL_POOL : `${LABEL_POOL}=${pool}`;
  return (await kube.core.listNamespacedPod({ namespace, labelSelector })).items;
}

async function statusCommand(p: ParsedArgs, io: PluginIO): Promise<number> {
  if (p.args.length > 1) throw new UsageError('status takes at most one pool: kubectl warmpool status [POOL]');
  if (flagString(p, 'output') !== undefined) throw new UsageError('status prints text only (use kubectl get ipool -o json for the objects)');
  const kube = kubeFor(kubeOptions(p));
  const namespace = namespaceOf(p, kube);
  const only = p.args[0];
  const [pools, pods, claims] = await Promise.all([
    only === undefined ? listCustom<InstancePool>(kube, namespace, POOL_PLURAL) : getPool(kube, namespace, only).then((x) => [x]),
    memberPods(kube, namespace, only),
    listCustom<PoolClaim>(kube, namespace, CLAIM_PLURAL),
  ]);
  if (pools.length === 0) {
    io.out(`No pools found in ${namespace} namespace.\n`);
    return 0;
  }
  const now = Date.now();
  const sections = pools
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))
    .map((pool) => renderStatus({ pool, pods: pods.filter((x) => x.metadata?.labels?.[LABEL_POOL] === pool.metadata.name), claims, now }));
  io.out(sections.join('\n'));
  return 0;
}

async function podUsage(kube: Kube, namespace: string): Promise<Map<string, PodUsage> | undefined> {
  try {
    const list: unknown = await kube.custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods', labelSelector: LABEL_POOL });
    return parsePodMetricsList(list);
  } catch (e) {
    // No metrics-server (404, or 503 while its APIService is unavailable): show the pool figures without members'.
    const code = statusCode(e);
    if (code === 404 || code === 503) return undefined;
    throw e;
  }
}

async function topCommand(p: ParsedArgs, io: PluginIO): Promise<number> {
  if (p.args.length > 1) throw new UsageError('top takes at most one pool: kubectl warmpool top [POOL]');
  if (flagString(p, 'output') !== undefined) throw new UsageError('top prints text only');
  const kube = kubeFor(kubeOptions(p));
  const namespace = namespaceOf(p, kube);
  const only = p.args[0];
  const [pools, pods, usage] = await Promise.all([
    only === undefined ? listCustom<InstancePool>(kube, namespace, POOL_PLURAL) : getPool(kube, namespace, only).then((x) => [x]),
    memberPods(kube, namespace, only),
    podUsage(kube, namespace),
  ]);
  pools.sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  io.out(renderTop({ pools, pods, usage }));
  return 0;
}

/** What the user reads for a failure: the error's message, with the reason the operator gave when there is one. */
export function describeError(e: unknown): string {
  if (e instanceof ClaimTimeoutError) return `timed out waiting for a member: ${e.message}; the claim was deleted`;
  if (e instanceof ClaimFailedError && e.claimName !== '') return `${e.reason}: ${e.message} (PoolClaim ${e.claimName} deleted)`;
  if (e instanceof WarmpoolError && e.name === 'AbortError') return `interrupted: ${e.message}; the claim was deleted`;
  if (e instanceof Error && (e instanceof UsageError || e instanceof JsonPathError || e instanceof RangeError || e instanceof WarmpoolError)) return e.message;
  return errorMessage(e);
}

/** Runs the plugin; resolves with the exit code. */
export async function runPlugin(argv: readonly string[], io: PluginIO): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    io.err(`error: ${describeError(e)}\nSee 'kubectl warmpool --help' for usage.\n`);
    return 1;
  }
  try {
    switch (parsed.command) {
      case 'help':
        io.out(HELP);
        return 0;
      case 'claim':
        return await claimCommand(parsed, io);
      case 'release':
        return await releaseCommand(parsed, io);
      case 'status':
        return await statusCommand(parsed, io);
      case 'top':
        return await topCommand(parsed, io);
    }
  } catch (e) {
    io.err(`error: ${describeError(e)}\n`);
    if (e instanceof UsageError) io.err(`See 'kubectl warmpool --help' for usage.\n`);
    return 1;
  }
}
