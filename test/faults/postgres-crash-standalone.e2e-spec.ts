import { describePostgresCrashMidLoad } from '../support/fault-scenarios.js';

// Three instances on a standalone Redis; their PostgreSQL (the test's own server) SIGKILLed mid-load and restarted (see the scenario).
describePostgresCrashMidLoad('standalone');
