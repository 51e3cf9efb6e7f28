// The warmpool command: `operator` runs the operator, `cluster` manages the local development cluster.
// Each subcommand is imported only when used, so the operator image needs none of the cluster harness.

const USAGE = `usage: warmpool <command> [flags]
  operator   run the operator against $KUBECONFIG or the in-cluster config (warmpool operator --help)
  cluster    start, stop and inspect the local cluster (warmpool cluster help)
  dev        the README's run command: local cluster, CRDs, operator and a demo pool`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'operator': {
      const { runOperator } = await import('../operator/main.js');
      return runOperator(rest);
    }
    case 'cluster': {
      const { clusterCommand } = await import('../e2e/cluster/cli.js');
      return clusterCommand(rest);
    }
    case 'dev': {
      const { devCommand } = await import('../hack/dev.js');
      return devCommand(rest);
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The operator has stopped (or given up stopping): a stray handle, a keep-alive socket or a timer, must not keep
    // a deposed replica running. Logs are written synchronously to pipes and files, so nothing is lost.
    if (process.argv[2] === 'operator') process.exit(code);
  },
  (err: unknown) => {
    process.exitCode = 1;
    // One line: an API error's own message is client-node's whole HTTP dump, headers included.
    void import('../operator/kube/errors.js').then(({ describeError }) => process.stderr.write(`warmpool: ${describeError(err)}\n`));
  },
);
