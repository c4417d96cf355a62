// Preloaded with `node --import` (also through NODE_OPTIONS): every TCP or TLS connection to a host
// other than this machine fails at once and is reported on stderr as `loopback-only: refused …`,
// so a test can check that what it ran never reached the internet. Plain JS: it runs under plain node.
import net from 'node:net';

const LOOPBACK = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|::1|\[::1\]|::ffff:127(\.\d{1,3}){3})$/i;

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect passes its normalized [options, callback]; a socket's own connect(options | port, host).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = first !== null && typeof first === 'object' ? first : { port: first, host: args[1] };
  // A host is checked even beside a `path` (HTTP agents pass the request's path along); none: loopback or a local socket.
  const host = typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
  if (!LOOPBACK.test(host)) {
    process.stderr.write(`loopback-only: refused a connection to ${host}:${options.port}\n`);
    process.nextTick(() => this.destroy(new Error(`loopback-only: ${host} is not this machine`)));
    return this;
  }
  return connect.apply(this, args);
};
