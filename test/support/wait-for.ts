export { waitFor } from '../harness/index.js';
