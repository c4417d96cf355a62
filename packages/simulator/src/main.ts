// Runs the simulator alone on Node: SIM_PORT (8090), SIM_HOST (127.0.0.1), SIM_TOKEN, and optionally
// SIM_MAX_JOBS, SIM_INTERVAL_MS, SIM_STEPS to change the defaults and SIM_PUBLIC_URL for image URLs
// (README, Configuration).
import { startSimulator } from './node.ts';

function readInt(name: string, fallback?: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

const started = await startSimulator({
  port: readInt('SIM_PORT', 8090) ?? 8090,
  hostname: process.env.SIM_HOST || '127.0.0.1',
  token: process.env.SIM_TOKEN || undefined,
  maxJobs: readInt('SIM_MAX_JOBS'),
  defaultIntervalMs: readInt('SIM_INTERVAL_MS'),
  defaultSteps: readInt('SIM_STEPS'),
  publicOrigin: process.env.SIM_PUBLIC_URL ? new URL(process.env.SIM_PUBLIC_URL).origin : undefined,
});
const origin = started.url;
console.log(
  `upstream simulator listening on ${origin}/v3/midjourney (fal queue: ${origin}/fal/queue, OpenAI: ${origin}/openai/v1, Replicate: ${origin}/replicate/v1)`,
);

const shutdown = () => {
  void started.close().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
