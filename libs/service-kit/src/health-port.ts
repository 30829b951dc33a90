import { createServer, type Server } from 'node:http';
import type { HealthReport } from './health';

/**
 * GET /health on its own port, for a service without a REST API (the aggregator, a centre-agent): 200 with the
 * report when the service can do its work, 503 with the same body when not (NATS unreachable, a check failing).
 * Anything else: 404, or 405 for another method. Kubernetes probes read it; nothing else listens.
 */
export async function serveHealth(host: string, port: number, report: () => HealthReport): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/health') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, message: `no ${path} here: this port answers GET /health` }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' }).end(JSON.stringify({ statusCode: 405, message: `${req.method} /health: only GET` }));
      return;
    }
    const body = report();
    res.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
  });
  // Probes only: no keep-alive sockets left behind on close.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/health`;
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
