import request from 'supertest';

/** The value of one sample in Prometheus text format, 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && wanted.every((label) => candidate.includes(label)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** One sample of the service's /metrics now, 0 when absent. */
export async function metricOf(baseUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const response = await request(baseUrl).get('/metrics').expect(200);
  return sample(response.text, name, labels);
}

/** How many duplicates the service dropped so far from one source (payment events the broker delivered again, or webhooks). */
export async function duplicatesDropped(baseUrl: string, source: 'broker' | 'webhook'): Promise<number> {
  return metricOf(baseUrl, 'payments_events_duplicates_dropped_total', { source });
}
