import { describeRedisReplacedMidLoad } from '../support/fault-scenarios.js';

// Three instances; the cluster Redis SIGKILLed mid-load and replaced by an empty one (see the scenario).
describeRedisReplacedMidLoad('cluster');
