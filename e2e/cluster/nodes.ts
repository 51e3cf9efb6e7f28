// Fake nodes that kwok keeps alive. Pod CIDRs are inside 127.0.0.0/8 so that every pod IP is a loopback address:
// a test can serve a member's endpoint on the pod's own IP, and nothing ever dials off this machine.

export interface NodeShape {
  cpu: string;
  memory: string;
  pods: number;
}

/** Second octet for a cluster's pod CIDRs, from its name, so two clusters on one machine get different pod IPs. */
export function podOctetFor(clusterName: string): number {
  let h = 0;
  for (const ch of clusterName) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 64 + (h % 64);
}

export function nodeName(index: number): string {
  return `kwok-node-${index}`;
}

export function nodeManifest(index: number, octet: number, shape: NodeShape): Record<string, unknown> {
  const name = nodeName(index);
  const cidr = `127.${octet}.${index}.0/24`;
  const resources = { cpu: shape.cpu, memory: shape.memory, pods: String(shape.pods) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource`,
      },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
    status: { allocatable: resources, capacity: resources },
  };
}
