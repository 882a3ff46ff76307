// The gateway under test, for the Node suites: `steadfast gateway --sim --addr 127.0.0.1:0`, one per
// test file (node --test runs each file in its own process). Mirrors ../gateway_support.py.
//
// STEADFAST_BIN names the `steadfast` binary (run.sh sets it; default: target/debug/steadfast). The
// gateway prints its URL and its embedded simulator's URL on stdout; the simulator's /__sim control
// plane scripts the upstream faults. Its stderr (access logs at -v) goes to a file, so that a test
// can check that no key ever reaches a log line.

import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// Keys the suites send; none may appear in the gateway's logs.
export const KEYS = ['sk-gw-conformance-node-openai-5d2e', 'sk-ant-gw-conformance-node-4a7f'];

export const MSG = [{ role: 'user', content: 'hello there world' }];
export const ECHO = 'Echo: hello there world';

// Every upstream family, as the Python suites list them.
export const FAMILIES = {
  openai: 'openai:gpt-4o-mini',
  anthropic: 'anthropic:claude-3-5-sonnet-latest',
  gemini: 'gemini:gemini-2.0-flash',
  bedrock: 'bedrock:amazon.nova-lite-v1:0',
  cohere: 'cohere:command-r-plus',
  mistral: 'mistral:mistral-small-latest',
};

/** A thin client for the simulator's /__sim control plane (as conftest.Sim). */
export class Sim {
  constructor(url) {
    this.url = url;
  }

  async #call(method, path, body) {
    const resp = await fetch(this.url + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`simulator ${method} ${path}: ${resp.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Replaces the scenario (and resets the journal and counters). */
  async scenario(rules) {
    await this.#call('POST', '/__sim/scenario', { rules });
    await this.#call('POST', '/__sim/reset');
  }

  async journal() {
    return this.#call('GET', '/__sim/journal');
  }
}

/** Starts the gateway; resolves to { url, sim, log(), stop() }. */
export async function startGateway() {
  const here = dirname(fileURLToPath(import.meta.url));
  const binary = process.env.STEADFAST_BIN || resolve(here, '..', '..', '..', 'target', 'debug', 'steadfast');
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-gateway-node-'));
  const logPath = join(dir, 'stderr.log');
  const logFd = openSync(logPath, 'w');
  // The default policy with short waits, so that the retries of a test take moments.
  const proc = spawn(binary, ['-v', 'gateway', '--sim', '--addr', '127.0.0.1:0', '--wait', 'fixed:0.01'], {
    stdio: ['ignore', 'pipe', logFd],
    env: { ...process.env, STEADFAST_LOG: 'info' },
  });
  const found = {};
  const urls = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('steadfast gateway did not print its URLs within 30 s')), 30_000);
    proc.on('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${binary}: ${e.message}`));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`steadfast gateway exited early (${code ?? signal}): ${readFileSync(logPath, 'utf8')}`));
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      for (const key of ['gateway', 'simulator']) {
        if (line.startsWith(key + ': ')) found[key] = line.slice(key.length + 2).trim();
      }
      if (found.gateway && found.simulator) {
        clearTimeout(timer);
        ok();
      }
    });
  });
  try {
    await urls;
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  proc.removeAllListeners('exit');
  // Should this process end without stop() (a test runner timeout), the gateway ends with it.
  const orphan = () => proc.kill('SIGKILL');
  process.once('exit', orphan);
  return {
    url: found.gateway,
    sim: new Sim(found.simulator),
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      process.removeListener('exit', orphan);
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((ok) => proc.once('exit', ok));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits `promise` and returns what it rejected with; fails if it resolved. */
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, got a result');
}
