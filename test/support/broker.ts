import { RabbitMqVhost } from '../../tools/process/index.js';

let fileVhost: Promise<RabbitMqVhost> | undefined;

/** The RabbitMQ vhost of this test file, created on first use and deleted after the file's tests (test/support/stop-processes.ts). */
export async function fileBrokerUrl(): Promise<string> {
  fileVhost ??= RabbitMqVhost.create();
  return (await fileVhost).url;
}

export async function deleteFileVhost(): Promise<void> {
  const vhost = fileVhost;
  fileVhost = undefined;
  await (await vhost?.catch(() => undefined))?.delete();
}
