import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Inject, type INestMicroservice } from '@nestjs/common';
import { ClientProxyFactory, EventPattern, MessagePattern, NatsRecordBuilder, Payload, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { waitFor } from '../../../test/support/wait-for.js';
import { Idempotent, IdempotencyModule, IdempotentMessage, type IdempotencyReport, type IdempotentMessageContext } from '../src/index.js';
import { Ledger } from './fixture/message-handlers.js';
import { newKey } from './http-client.js';

/** The machine's NATS server is shared: this file's subjects carry a prefix of their own. */
const SERVERS = [process.env.NATS_URL ?? 'nats://127.0.0.1:4222'];
const PREFIX = `idempotency-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const EVENT = `${PREFIX}.payment.succeeded`;
const REQUEST = `${PREFIX}.charge.create`;

@Controller()
class NatsHandlers {
  constructor(@Inject(Ledger) private readonly ledger: Ledger) {}

  // A pattern that is not a literal: @EventPattern types every parameter as its event map's, unknown here.
  @EventPattern(EVENT)
  @Idempotent()
  async onSucceeded(@Payload() _data: unknown, @IdempotentMessage() message: unknown): Promise<void> {
    await this.ledger.apply('succeeded', (message as IdempotentMessageContext).key);
  }

  @MessagePattern(REQUEST)
  @Idempotent()
  async charge(@Payload() data: { amount: number }, @IdempotentMessage() message: IdempotentMessageContext): Promise<{ id: string; amount: number }> {
    await this.ledger.apply('charge', message.key);
    return { id: this.ledger.nextCharge(), amount: data.amount };
  }
}

/** NATS: the key from the message's NATS headers; core NATS has no acknowledgements, so duplicates are only skipped. */
describe('message handlers on NATS with the memory store', () => {
  let app: INestMicroservice;
  let client: ClientProxy;
  const ledger = new Ledger();
  const reports: IdempotencyReport['outcome'][] = [];

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IdempotencyModule.forRoot({ onOutcome: (report) => void reports.push(report.outcome) })],
      controllers: [NatsHandlers],
      providers: [{ provide: Ledger, useValue: ledger }],
    }).compile();
    app = moduleRef.createNestMicroservice({ transport: Transport.NATS, options: { servers: SERVERS }, logger: false });
    await app.listen();
    client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: SERVERS } });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  const record = (data: unknown, key?: string) => {
    const builder = new NatsRecordBuilder(data);
    if (key !== undefined) {
      const headers = natsHeaders();
      headers.set('idempotency-key', key);
      builder.setHeaders(headers);
    }
    return builder.build();
  };

  it('runs an event published twice once, and copies that arrive while it runs once', async () => {
    const key = newKey('nats');
    const { started, release } = ledger.hold(key);
    await firstValueFrom(client.emit(EVENT, record({ amount: 5 }, key)), { defaultValue: undefined });
    await started;
    const replays = reports.filter((outcome) => outcome === 'replay').length;
    await firstValueFrom(client.emit(EVENT, record({ amount: 5 }, key)), { defaultValue: undefined });
    await firstValueFrom(client.emit(EVENT, record({ amount: 5 }, key)), { defaultValue: undefined });
    release();
    await waitFor('both copies skipped', async () => reports.filter((outcome) => outcome === 'replay').length === replays + 2);
    expect(ledger.count(`succeeded:${key}`)).toBe(1);
    expect(ledger.entered.filter((entry) => entry === `succeeded:${key}`)).toHaveLength(1);
  });

  it('replays a reply, and refuses a request without a key', async () => {
    const key = newKey('nats');
    const first = await firstValueFrom(client.send(REQUEST, record({ amount: 9 }, key)));
    expect(await firstValueFrom(client.send(REQUEST, record({ amount: 9 }, key)))).toEqual(first);
    expect(ledger.count(`charge:${key}`)).toBe(1);
    await expect(firstValueFrom(client.send(REQUEST, record({ amount: 9 })))).rejects.toMatchObject({ statusCode: 400, code: 'IDEMPOTENCY_KEY_MISSING' });
  });
});
