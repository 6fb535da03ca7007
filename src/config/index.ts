export { AppConfig, InvalidConfigError, loadAppConfig } from './app-config.js';
export { ConfigModule } from './config.module.js';
