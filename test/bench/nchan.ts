import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Managed, startProcess, stopProcess, waitForHttp } from './procs.ts';
import { freePort } from '../support/free-port.ts';

const NGINX = '/usr/sbin/nginx';
const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

/** nginx + nchan on a free loopback port: EventSource subscribers at /sub/<id>, publisher at /pub/<id>. */
export interface Nchan {
  port: number;
  pid: number;
  /** Publisher URL prefix; append the channel id. */
  pubUrl: string;
  stop(): Promise<void>;
}

/** Why nchan cannot run here, or undefined when it can. */
export function nchanMissing(): string | undefined {
  if (!existsSync(NGINX)) return `${NGINX} not found`;
  if (!existsSync(NCHAN_MODULE)) return `${NCHAN_MODULE} not found`;
  return undefined;
}

/** nginx + nchan with `workers` worker processes (1: like one Node process). */
export async function startNchan(workers = 1): Promise<Nchan> {
  const dir = mkdtempSync(join(tmpdir(), 'sse-relay-bench-nchan-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `load_module ${NCHAN_MODULE};
worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 20000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  nchan_max_reserved_memory 256M;
  nchan_message_buffer_length 2000;
  nchan_message_timeout 10m;
  server {
    listen 127.0.0.1:${port} backlog=4096${workers > 1 ? ' reuseport' : ''};
    location = /healthz { return 200 "ok"; }
    location ~ ^/pub/(.+)$ { nchan_publisher; nchan_channel_id $1; }
    location ~ ^/sub/(.+)$ { nchan_subscriber eventsource; nchan_channel_id $1; }
    location ~ ^/sub-oldest/(.+)$ { nchan_subscriber eventsource; nchan_channel_id $1; nchan_subscriber_first_message oldest; }
  }
}
`,
  );
  const managed: Managed = startProcess('nginx', NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 10_000, managed);
  return {
    port,
    pid: managed.pid,
    pubUrl: `http://127.0.0.1:${port}/pub/`,
    async stop() {
      await stopProcess(managed);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
