import { randomBytes } from 'node:crypto';
import { runToSuccess } from './managed-process.js';

/**
 * A virtual host of its own on the machine's RabbitMQ (127.0.0.1:5672, guest), for one test file
 * or one bench run: its exchanges and queues are nobody else's, and deleting it deletes them. The
 * broker is shared: only vhosts created here are ever deleted.
 */
export class RabbitMqVhost {
  private constructor(readonly name: string) {}

  static async create(): Promise<RabbitMqVhost> {
    const name = `test_${process.pid}_${randomBytes(6).toString('hex')}`;
    await runToSuccess('rabbitmqctl', ['add_vhost', name], { name: 'rabbitmqctl' });
    await runToSuccess('rabbitmqctl', ['set_permissions', '-p', name, 'guest', '.*', '.*', '.*'], { name: 'rabbitmqctl' });
    return new RabbitMqVhost(name);
  }

  /** The broker URL of this vhost (the guest user reaches only loopback, which is where tests run). */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:5672/${this.name}`;
  }

  async delete(): Promise<void> {
    await runToSuccess('rabbitmqctl', ['delete_vhost', this.name], { name: 'rabbitmqctl' });
  }
}
