/** What the example reads from its environment, with the defaults of a developer's machine. */
export interface LedgerConfig {
  /** The broker the payments service publishes to. */
  brokerUrl: string;
  /** The example's own database; created if missing when `createDatabase`. */
  databaseUrl: string;
  /** GET /ledger answers here. */
  port: number;
  /** In development (NODE_ENV=development, as `npm start` sets it) a missing database is created. */
  createDatabase: boolean;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return {
    brokerUrl: url(env, 'BROKER_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/ledger_example', ['postgres:', 'postgresql:']),
    port: port(env, 'PORT', 3100),
    createDatabase: env.NODE_ENV === 'development',
  };
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: string[]): string {
  const value = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(parsed.protocol)) throw new Error(`${name} must be a ${protocols.join(' or ')} URL; got ${parsed.protocol}`);
  return value;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new Error(`${name} must be a port number (0..65535); got ${JSON.stringify(value)}`);
  return parsed;
}
