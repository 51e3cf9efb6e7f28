// Per-call options for the generated clients. They take a ConfigurationOptions as their last argument whose
// middleware runs on the request context; 'append' keeps the client's own middleware (the default strategy,
// 'replace', would drop it).
import { Observable } from '@kubernetes/client-node';
import type { ConfigurationOptions, ObservableMiddleware } from '@kubernetes/client-node';

/** Aborts the request if it has not completed within ms. */
export function timeoutOptions(ms: number, opt?: ConfigurationOptions): ConfigurationOptions {
  const timeout: ObservableMiddleware = {
    // The signal is made per request, when the request starts, not when the options are built.
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp) => new Observable(Promise.resolve(rsp)),
  };
  return { ...opt, middleware: [...(opt?.middleware ?? []), timeout], middlewareMergeStrategy: 'append' };
}
