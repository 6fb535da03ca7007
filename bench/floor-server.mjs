/**
 * The floor of the contention scenario: `PORT=4000 node bench/floor-server.mjs`, a bare node:http
 * server answering every request, on any path, with the service's 409 REQUEST_IN_PROGRESS (same
 * status, headers and body) and doing nothing else. The bench sends it the service's contention
 * loads with the same client: its latency is what this machine and client cost.
 */
import { createServer } from 'node:http';

// The problem document the service sends for a duplicate of a request still running, built once.
const BODY = Buffer.from(
  JSON.stringify({
    type: 'urn:problem-type:request-in-progress',
    title: 'Conflict',
    status: 409,
    detail: 'A request with this Idempotency-Key is still in progress; retry later.',
    code: 'REQUEST_IN_PROGRESS',
  }),
);
const HEADERS = { 'content-type': 'application/problem+json; charset=utf-8', 'retry-after': '1', 'content-length': String(BODY.length) };

createServer((request, response) => {
  // Read the body to its end (discarded), as the service does before it answers.
  request.resume().once('end', () => response.writeHead(409, HEADERS).end(BODY));
}).listen(Number(process.env.PORT), '127.0.0.1');

// The channel must not keep the process alive on its own; its loss (the bench died) ends it.
process.channel?.unref();
process.once('disconnect', () => process.exit(0));
