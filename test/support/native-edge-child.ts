// A process serving every stream request on the native edge with a held stream ("ok" then nothing),
// for tests that must change the process's own limits (run it under `ulimit -n`). Prints JSON
// lines: {"port"} once listening, {"pauses"} when accepting paused for want of descriptors.
import { createServer } from 'node:http';
import { acceptNativeStreams } from '../../src/node/direct-streams.ts';
import { loadNativeEdge } from '../../src/node/native-edge.ts';
import { createSocketSinks } from '../../src/node/socket-sink-opener.ts';

const edge = loadNativeEdge();
if (!edge) throw new Error('the native edge is not built (npm install)');
const sinks = createSocketSinks();
const streams = acceptNativeStreams(
  edge,
  createServer((_req, res) => res.end('node:http')),
  { host: '127.0.0.1', port: 0, backlog: 1024 },
  {
    async serve(_req, context) {
      const opened = sinks.open({ headers: { 'Content-Type': 'text/event-stream' }, maxQueuedBytes: 1 << 20, onClose() {} }, context);
      opened?.sink.write(new TextEncoder().encode('data: ok\n\n'));
      return opened !== undefined;
    },
    clientIp: (_forwardedFor, peer) => peer ?? 'unknown',
    endGraceMs: 1000,
    keepAliveS: 0,
    onPaused: (pauses) => console.log(JSON.stringify({ pauses })),
  },
);
console.log(JSON.stringify({ port: streams.port }));
process.on('disconnect', () => process.exit(0));
