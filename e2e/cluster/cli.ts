// `warmpool cluster up|down|status|kubeconfig`: the local cluster for people, on top of startCluster().
import { parseArgs } from 'node:util';
import { attachCluster, clusterExists, deleteCluster, startCluster } from './cluster.js';

const USAGE = `usage: warmpool cluster <command> [flags]
  up          start a local cluster   [--name N] [--nodes K] [--metrics] [--audit]
                                      [--node-cpu 32] [--node-memory 256Gi] [--node-pods 110]
  down        stop it and remove it   [--name N]
  status      show whether it runs    [--name N]
  kubeconfig  print its kubeconfig    [--name N]`;

function say(line: string): void {
  process.stderr.write(`[cluster] ${line}\n`);
}

export async function clusterCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: [...rest],
    options: {
      name: { type: 'string', default: 'warmpool' },
      nodes: { type: 'string', default: '2' },
      metrics: { type: 'boolean', default: false },
      audit: { type: 'boolean', default: false },
      'node-cpu': { type: 'string' },
      'node-memory': { type: 'string' },
      'node-pods': { type: 'string' },
    },
    strict: true,
  });
  const name = values.name;
  switch (command) {
    case 'up': {
      const nodes = Number.parseInt(values.nodes, 10);
      if (!Number.isInteger(nodes) || nodes < 0) throw new Error(`--nodes: want a whole number, got ${values.nodes}`);
      const t0 = Date.now();
      const c = await startCluster({
        name,
        nodes,
        metrics: values.metrics,
        audit: values.audit,
        node: {
          ...(values['node-cpu'] ? { cpu: values['node-cpu'] } : {}),
          ...(values['node-memory'] ? { memory: values['node-memory'] } : {}),
          ...(values['node-pods'] ? { pods: Number.parseInt(values['node-pods'], 10) } : {}),
        },
        log: say,
      });
      say(`cluster ${name} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      process.stdout.write(`${c.kubeconfig}\n`);
      say(`use it:  export KUBECONFIG=${c.kubeconfig}`);
      say(`         ${c.tools.bin('kubectl')} get nodes`);
      say(`stop it: bin/warmpool cluster down --name ${name}`);
      return 0;
    }
    case 'down':
      await deleteCluster(name);
      say(`cluster ${name} is down`);
      return 0;
    case 'status': {
      if (!clusterExists(name)) {
        say(`cluster ${name} is not running`);
        return 1;
      }
      const c = await attachCluster(name);
      const version = await c.kubectl(['version', '-o', 'json']).catch(() => '');
      if (version === '') {
        say(`cluster ${name} exists but its API server does not answer (bin/warmpool cluster down --name ${name})`);
        return 1;
      }
      const server = (JSON.parse(version) as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion;
      say(`cluster ${name} is running, server ${server ?? 'unknown'}`);
      process.stdout.write(await c.kubectl(['get', 'nodes']));
      process.stdout.write(`KUBECONFIG=${c.kubeconfig}\n`);
      return 0;
    }
    case 'kubeconfig': {
      if (!clusterExists(name)) {
        say(`cluster ${name} is not running`);
        return 1;
      }
      process.stdout.write(`${(await attachCluster(name)).kubeconfig}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' ? 0 : 2;
  }
}
