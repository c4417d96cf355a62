import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { until } from '../support/until.ts';

/** A process the bench started; every one is killed (its whole process group) by `stopAll`. */
export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last lines it wrote to stdout/stderr. */
  output: string[];
  exited: Promise<number | null>;
}

const started: Managed[] = [];

/** Starts `command` in its own process group with the open-files limit raised to the hard limit. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; ipc?: boolean; cwd?: string } = {},
): Managed {
  const child = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', command, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: failed to start`);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const managed: Managed = { name, child, pid: child.pid, output, exited };
  child.once('exit', (code, signal) => {
    if (started.includes(managed)) console.error(`bench: ${name} exited unexpectedly (${code ?? signal}): ${output.slice(-8).join('\n')}`);
  });
  started.push(managed);
  return managed;
}

/** Stops one process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(managed: Managed, graceMs = 3000): Promise<void> {
  const index = started.indexOf(managed);
  if (index >= 0) started.splice(index, 1);
  if (managed.child.exitCode !== null || managed.child.signalCode !== null) return;
  signalGroup(managed.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(managed.pid, 'SIGKILL'), graceMs);
  await managed.exited;
  clearTimeout(timer);
  signalGroup(managed.pid, 'SIGKILL');
}

/** Kills everything still running that the bench started (synchronously usable from exit handlers). */
export function killAllNow(): void {
  for (const managed of started.splice(0)) signalGroup(managed.pid, 'SIGKILL');
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].reverse().map((managed) => stopProcess(managed)));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** CPU seconds (user + system) and resident set size of a process and its descendants. */
export interface ProcSample {
  cpuS: number;
  rssKB: number;
}

export const TICKS_PER_S = 100;

export function sampleProcess(pid: number, withChildren = false): ProcSample {
  let cpuS = 0;
  let rssKB = 0;
  for (const p of withChildren ? [pid, ...descendants(pid)] : [pid]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuS += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      rssKB += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // Exited between listing and reading.
    }
  }
  return { cpuS, rssKB };
}

export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // Gone.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number, managed?: Managed): Promise<void> {
  const exited = () => managed !== undefined && managed.child.exitCode !== null;
  const answers = async () => {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false; // Not up yet.
    }
  };
  const up = await until(async () => exited() || (await answers()), { timeoutMs, intervalMs: 50 }).catch(() => false);
  if (managed && exited()) throw new Error(`${managed.name} exited: ${managed.output.slice(-5).join(' | ')}`);
  if (!up) throw new Error(`${url} not up after ${timeoutMs} ms`);
}
