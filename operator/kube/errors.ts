// Reading API errors. The generated clients throw ApiException (HTTP code in `code`, the apiserver's Status as a
// JSON string in `body`); the watch throws an Error with `statusCode`. 409 means two different things, told apart
// by the Status reason: AlreadyExists (a create lost) and Conflict (a stale resourceVersion).
import { ApiException } from '@kubernetes/client-node';

function isHttpCode(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
}

/** The HTTP status code carried by an error from client-node, or undefined (network errors, bugs). */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return isHttpCode(err.code) ? err.code : undefined;
  // Duck-typed too, for a second copy of client-node and for the watch's errors. Node's system errors carry a
  // string `code` (ECONNREFUSED), which the range check rejects.
  if (typeof err === 'object' && err !== null) {
    const { code, statusCode: sc } = err as { code?: unknown; statusCode?: unknown };
    if (isHttpCode(code)) return code;
    if (isHttpCode(sc)) return sc;
  }
  return undefined;
}

// The apiserver's Status from the error body: a JSON string from the generated clients, an object from others.
function statusBody(err: unknown): Record<string, unknown> | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  let body: unknown = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The `reason` of the apiserver's Status in the error body (Conflict, AlreadyExists, NotFound...), if readable. */
export function statusReason(err: unknown): string | undefined {
  return nonEmptyString(statusBody(err)?.reason);
}

/** A write lost an optimistic-concurrency race (409 Conflict). A 409 with an unreadable body counts too. */
export function isConflict(err: unknown): boolean {
  return statusCode(err) === 409 && statusReason(err) !== 'AlreadyExists';
}

/** A create found the name taken (409 AlreadyExists). A 409 with an unreadable body counts too. */
export function isAlreadyExists(err: unknown): boolean {
  return statusCode(err) === 409 && statusReason(err) !== 'Conflict';
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

/** A short description of an error for logs and Event messages: the Status message when there is one. */
export function errorMessage(err: unknown): string {
  const code = statusCode(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  const message = nonEmptyString(statusBody(err)?.message);
  return message === undefined ? `HTTP ${code}` : `HTTP ${code}: ${message}`;
}
