/**
 * The floor of the contention scenario: a bare `node:http` server that answers every request, on
 * any path and method, with the service's 409 REQUEST_IN_PROGRESS problem: the same status,
 * headers and body, and no work at all (no framework, no Redis, no hashing).
 *
 *   PORT=4000 node bench/floor-server.mjs
 *
 * bench/bench.ts starts it once and sends it the same contention burst and the same steady load
 * as the service, with the same client (bench/load.ts): whatever latency this server shows is what
 * the machine and the client cost, and the service's 409 latency can be read against it.
 *
 * Listens on 127.0.0.1:$PORT and prints `floor-server listening on http://127.0.0.1:<port>` on
 * stdout once it does. Exits on SIGTERM or SIGINT, and, when started with an IPC channel (as the
 * bench starts it), as soon as that channel closes, i.e. when its parent dies.
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`floor-server: PORT must be a port number, got "${process.env.PORT ?? ''}"\n`);
  process.exit(2);
}

// The problem document the service sends for a duplicate of a request still running
// (src/idempotency/idempotency.interceptor.ts), built once.
const BODY = Buffer.from(
  JSON.stringify({
    type: 'urn:problem-type:request-in-progress',
    title: 'Conflict',
    status: 409,
    detail: 'A request with this Idempotency-Key is still in progress; retry later.',
    code: 'REQUEST_IN_PROGRESS',
  }),
);
const HEADERS = {
  'content-type': 'application/problem+json; charset=utf-8',
  'retry-after': '1',
  'content-length': String(BODY.length),
};

const server = createServer((request, response) => {
  // Read the body to its end (discarded), as the service does before it answers.
  request.resume();
  request.once('end', () => {
    response.writeHead(409, HEADERS);
    response.end(BODY);
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`floor-server listening on http://127.0.0.1:${port}\n`);
});
server.on('error', (error) => {
  process.stderr.write(`floor-server: ${error.message}\n`);
  process.exit(1);
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  // Never outlive the request to stop, whatever a socket does.
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

if (process.channel) {
  // The channel must not keep the process alive on its own; its loss (the parent died or let go) ends it.
  process.channel.unref();
  process.once('disconnect', () => process.exit(0));
}
