// Tracing through @opentelemetry/api only. The Node SDK and the OTLP exporter are imported when, and only when,
// OTEL_EXPORTER_OTLP_ENDPOINT is set: without it the API's no-op tracer costs next to nothing and the SDK's
// module graph is never loaded. `tracer` is a proxy, so spans started through it reach the SDK once it starts.
import type { Attributes, Span } from '@opentelemetry/api';
import { SpanStatusCode, trace } from '@opentelemetry/api';

export const tracer = trace.getTracer('warmpool');

/** Span attribute keys for the objects a span is about. */
export const SpanAttributes = {
  namespace: 'k8s.namespace.name',
  pool: 'warmpool.pool',
  claim: 'warmpool.claim',
  member: 'warmpool.member',
  controller: 'warmpool.controller',
} as const;

export type StopTracing = () => Promise<void>;

/**
 * Starts the OpenTelemetry Node SDK exporting spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
 * exporter reads the endpoint and headers from the OTEL_* variables itself). Service name: OTEL_SERVICE_NAME or
 * `warmpool`. Metrics and logs stay with Prometheus and winston, so the SDK gets no readers or log processors.
 * Returns the function that flushes and stops it.
 */
export async function startTracing(): Promise<StopTracing> {
  const env = process.env;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return async () => {};
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'warmpool',
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return () => sdk.shutdown();
}

/**
 * Runs `work` in a new active span (so nested spans and log lines see it), records an exception and sets the
 * error status when it throws, and ends the span either way.
 */
export async function withSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      const exception = error instanceof Error ? error : new Error(String(error));
      span.recordException(exception);
      span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
      throw error;
    } finally {
      span.end();
    }
  });
}
