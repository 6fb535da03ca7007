import { afterAll } from '@jest/globals';
import { stopAll } from '../harness/index.js';
import { deleteFileVhost } from './broker.js';
import { dropFileDatabase } from './database.js';

// A test file whose set-up failed halfway, or that forgot one, leaves no process to the next file,
// and its database is dropped with whatever is still connected to it, and its broker vhost deleted.
afterAll(async () => {
  await stopAll();
  await Promise.all([dropFileDatabase(), deleteFileVhost()]);
});
