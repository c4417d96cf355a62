import { upstreamJobId } from './job-id.ts';
import type { UpstreamProfile } from '../profile.ts';
import type { UpstreamClient, UpstreamReply } from './upstream.ts';

/** What a create's answer turned out to be: one reading for every runtime. */
export type OpenedCreate =
  /** The vendor's refusal (or any answer naming no job), for the caller as it came. */
  | { kind: 'reply'; reply: UpstreamReply }
  /** A JSON answer naming the job (profile.startedJobId); its stream is opened separately (followers.followStarted). */
  | { kind: 'started'; jobId: string; reply: UpstreamReply }
  /** The job's own stream; its first event names the job (followers.followStream, firstJobId). */
  | { kind: 'stream'; body: ReadableStream<Uint8Array> };

/** Sends the profile's create for a job of `kind` and reads what came back; a job id the answer names is checked here. */
export async function openCreate(
  upstream: Pick<UpstreamClient, 'open'>,
  profile: Pick<UpstreamProfile, 'createRequest' | 'startedJobId'>,
  kind: string,
  body: Record<string, unknown>,
): Promise<OpenedCreate> {
  const result = await upstream.open(profile.createRequest(kind, body));
  if (result.kind === 'stream') return result;
  const started = profile.startedJobId?.(result.reply, kind);
  if (started === undefined) return result;
  return { kind: 'started', jobId: upstreamJobId(started), reply: result.reply };
}
