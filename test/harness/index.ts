/**
 * The one process harness of tests, scripts and the bench: redis-server, Redis Cluster, PostgreSQL
 * and the built service on free ports, readiness, stop by pid (SIGTERM, then SIGKILL), and no
 * process left behind when its owner exits or a test file ends; a database per test file on the
 * shared PostgreSQL server.
 */
export { freePort } from './free-port.js';
export { DEFAULT_GRACE_MS, ManagedProcess, runToExit, runToSuccess, stopAll, type Exit, type Output, type ProcessOptions } from './managed-process.js';
export { sharedPostgres, TestDatabase } from './postgres-database.js';
export { PostgresServer, type PostgresConnection } from './postgres-server.js';
export { RabbitMqServer } from './rabbitmq-server.js';
export { RabbitMqVhost } from './rabbitmq-vhost.js';
export { RedisCluster } from './redis-cluster.js';
export { hasRedisServerBinary, RedisServer, type RedisServerOptions } from './redis-server.js';
export { ServiceProcess, type ServiceProcessOptions } from './service-process.js';
export { answersOk, waitFor, type WaitOptions } from './wait-for.js';
