import { Agent, createServer, request, type Server } from 'node:http';

/**
 * An HTTP proxy in front of the service that loses a share of the answers on the way back: the
 * service received and processed the request, and the client's connection is cut instead of the
 * answer being sent, as a network or a load balancer that fails mid-response does.
 */
export class LossyProxy {
  /** Answers the service gave that the client never got. */
  dropped = 0;
  forwarded = 0;

  private constructor(
    private readonly server: Server,
    private readonly agent: Agent,
    readonly url: string,
  ) {}

  static async start(target: string, dropShare: number): Promise<LossyProxy> {
    const upstream = new URL(target);
    const agent = new Agent({ keepAlive: true });
    const server = createServer((incoming, outgoing) => {
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            if (Math.random() < dropShare) {
              proxy.dropped++;
              outgoing.socket?.destroy();
              return;
            }
            proxy.forwarded++;
            outgoing.writeHead(answer.statusCode!, answer.headers).end(Buffer.concat(chunks));
          });
        },
      );
      forward.on('error', () => outgoing.socket?.destroy());
      incoming.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const proxy = new LossyProxy(server, agent, `http://127.0.0.1:${port}`);
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.agent.destroy();
  }
}
