// Prometheus for tests: the Debian package's promtool and server (extracted, never installed: installing would
// start a service on every interface), a reader of the text exposition format, and a throwaway server bound to
// loopback that scrapes given targets.
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runRaw, type RunResult } from '../../e2e/cluster/exec.js';
import { repoRoot } from '../../e2e/cluster/paths.js';
import { eventually } from './kube.js';
import { freePort } from './ports.js';

/** A directory holding usr/bin/promtool and usr/bin/prometheus (hack/prometheus.sh extracts them once). */
export async function prometheusDir(): Promise<string> {
  const printed = (await run('bash', [join(repoRoot(), 'hack', 'prometheus.sh')], { timeoutMs: 300_000 })).stdout.trim();
  if (!existsSync(join(printed, 'usr', 'bin', 'promtool'))) throw new Error(`hack/prometheus.sh printed ${printed}, which has no usr/bin/promtool`);
  return printed;
}

/** `promtool check metrics` on an exposition; code 0 means it passed, the output says what it found. */
export async function promtoolCheckMetrics(exposition: string): Promise<RunResult> {
  return runRaw(join(await prometheusDir(), 'usr', 'bin', 'promtool'), ['check', 'metrics'], { input: exposition, timeoutMs: 60_000 });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a text exposition (comments skipped). Kept apart from the operator's own reader on purpose. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with exactly these labels (besides any others); undefined if none. */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(samples, name, labels);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

export async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

/**
 * GET over HTTPS without verifying the server's certificate (the operator's self-signed one, as the chart's
 * ServiceMonitor scrapes it), with an optional bearer token; resolves with the status and body whatever the status.
 */
export function httpsGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { rejectUnauthorized: false, agent: false, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }, timeout: 15_000 },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** How Prometheus scrapes the targets; the default is plain HTTP with no credentials. */
export interface ScrapeOptions {
  scheme?: 'http' | 'https';
  /** Prometheus's tls_config.insecure_skip_verify. */
  insecureSkipVerify?: boolean;
  /** A file holding the bearer token to send (authorization.credentials_file). */
  bearerTokenFile?: string;
}

export interface RunningPrometheus {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234 */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** A Prometheus on 127.0.0.1 scraping `targets` (host:port) as job "warmpool", storage in a temp dir. */
export async function startPrometheus(targets: readonly string[], scrapeIntervalSeconds = 1, scrape: ScrapeOptions = {}): Promise<RunningPrometheus> {
  const bin = join(await prometheusDir(), 'usr', 'bin', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'warmpool-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: `${scrapeIntervalSeconds}s`, evaluation_interval: `${scrapeIntervalSeconds}s` },
      scrape_configs: [
        {
          job_name: 'warmpool',
          static_configs: [{ targets }],
          scheme: scrape.scheme ?? 'http',
          ...(scrape.insecureSkipVerify === undefined ? {} : { tls_config: { insecure_skip_verify: scrape.insecureSkipVerify } }),
          ...(scrape.bearerTokenFile === undefined ? {} : { authorization: { type: 'Bearer', credentials_file: scrape.bearerTokenFile } }),
        },
      ],
    }),
  );
  const port = await freePort();
  const child = spawn(
    bin,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      'prometheus ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${out}`);
        return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
      },
      30_000,
      200,
    );
  } catch (e) {
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${out}`);
  }
  return { url, output: () => out, stop };
}

export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query through the HTTP API; resolves with the vector's samples. */
export async function query(prometheusUrl: string, promql: string): Promise<VectorSample[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body: unknown = await res.json();
  if (!isRecord(body) || body.status !== 'success' || !isRecord(body.data) || body.data.resultType !== 'vector') {
    throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
  }
  const result = Array.isArray(body.data.result) ? (body.data.result as unknown[]) : [];
  return result.map((r) => {
    if (!isRecord(r) || !isRecord(r.metric) || !Array.isArray(r.value)) throw new Error(`query ${promql}: odd sample ${JSON.stringify(r)}`);
    return { metric: r.metric as Record<string, string>, value: Number(r.value[1]) };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
