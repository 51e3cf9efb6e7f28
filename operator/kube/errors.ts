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

/**
 * After a 409 whose winner's event may never plan the object again (a change the update filter drops, say), the pass
 * that lost plans again this much later.
 */
export const CONFLICT_REPLAN_MS = 500;

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

/** The longest error description a log line carries; an apiserver message can quote a whole object. */
export const MAX_ERROR_DESCRIPTION = 1024;

/**
 * One line for a log: `HTTP <code> <reason>: <message>` for an API error, `<message>: <cause>` for others. Never
 * String(err): client-node's ApiException puts the whole response (body and every header) in its message, so a 429
 * at start-up would print a screenful per attempt.
 */
export function describeError(err: unknown): string {
  return oneLine(describe(err));
}

function describe(err: unknown, depth = 0): string {
  const code = statusCode(err);
  if (code !== undefined) {
    const status = statusBody(err);
    const reason = nonEmptyString(status?.reason);
    // ApiException's own message is that dump; other HTTP errors (the watch's) carry the status text.
    const message =
      nonEmptyString(status?.message) ?? (err instanceof ApiException || !(err instanceof Error) ? undefined : nonEmptyString(err.message));
    return `HTTP ${code}${reason === undefined ? '' : ` ${reason}`}${message === undefined ? '' : `: ${message}`}`;
  }
  if (err instanceof Error) {
    const name = err.name !== 'Error' && err.name !== '' ? `${err.name}: ` : '';
    // fetch failures say only "fetch failed"; the reason (ECONNREFUSED...) is in the cause.
    const cause = err.cause === undefined || depth >= 3 ? '' : `: ${describe(err.cause, depth + 1)}`;
    return `${name}${err.message}${cause}`;
  }
  if (typeof err === 'object' && err !== null) {
    try {
      return JSON.stringify(err);
    } catch {
      return Object.prototype.toString.call(err);
    }
  }
  return String(err);
}

function oneLine(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.length <= MAX_ERROR_DESCRIPTION ? line : `${line.slice(0, MAX_ERROR_DESCRIPTION - 1)}…`;
}
