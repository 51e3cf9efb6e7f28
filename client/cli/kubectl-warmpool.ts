// Entry point of the kubectl plugin (bundled to dist/kubectl-warmpool.mjs, run by bin/kubectl-warmpool). kubectl
// finds any executable named kubectl-warmpool on PATH and runs it for `kubectl warmpool ...`.
import { runPlugin } from './main.js';

const interrupt = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  // The first Ctrl-C aborts a claim wait (which deletes the claim); a second one exits at once.
  if (++interrupts > 1) process.exit(130);
  interrupt.abort(new Error(`${signal} received`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runPlugin(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  signal: interrupt.signal,
});
// Exit explicitly: a keep-alive connection must not hold the process open.
process.stdout.write('', () => process.exit(code));
