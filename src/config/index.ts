export { AppConfig, InvalidConfigError, loadAppConfig } from './app-config.js';
export { ConfigModule } from './config.module.js';
export { idempotencyOptionsOf } from './idempotency-options.js';
