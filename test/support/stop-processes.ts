import { afterAll } from '@jest/globals';
import { stopAll } from '../../tools/process/index.js';
import { dropFileDatabase } from './database.js';

// A test file whose set-up failed halfway, or that forgot one, leaves no process to the next file,
// and its database is dropped with whatever is still connected to it.
afterAll(async () => {
  await stopAll();
  await dropFileDatabase();
});
