export { waitFor } from '../../tools/process/index.js';
