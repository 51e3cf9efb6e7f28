// The HTTP library under the operator's clients: undici's request() with the body as one buffer, instead of
// client-node's fetch-based library. fetch always streams a request body from an async generator, so its headers go
// out first and the body after an await: a process paused (SIGSTOP, a long GC) in that await sends the write after
// it resumes, past the write fence's last-moment check (fence.ts fenceAtSocket). With a buffer, and over HTTP/1.1
// (connections.ts http1Agent), undici writes headers and body in the same tick as that check.
import { Readable } from 'node:stream';
import { ResponseContext, wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext } from '@kubernetes/client-node';
import { request as undiciRequest } from 'undici';


export function bufferedHttpLibrary(): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const body = request.getBody();
      if (body !== undefined && typeof body !== 'string') throw new Error('bufferedHttpLibrary: only string request bodies are supported');
      const res = await undiciRequest(request.getUrl(), {
        method: request.getHttpMethod().toString(),
        headers: request.getHeaders(),
        body,
        signal: request.getSignal(),
        dispatcher: request.getDispatcher(),
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      return new ResponseContext(res.statusCode, headers, {
        text: () => res.body.text(),
        binary: async () => Buffer.from(await res.body.arrayBuffer()),
        stream: () => Readable.toWeb(res.body),
      });
    },
  });
}
