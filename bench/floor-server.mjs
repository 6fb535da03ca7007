/**
 * The floor of the contention scenario: `PORT=4000 node bench/floor-server.mjs`, a bare node:http
 * server answering every request, on any path, with the service's 409 REQUEST_IN_PROGRESS (same
 * status, headers and body) and doing nothing else. The bench sends it the service's contention
 * loads with the same client: its latency is what this machine and client cost. It exits on
 * SIGTERM or SIGINT, and when its IPC channel (the bench) closes.
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

server.listen(port, '127.0.0.1');
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
