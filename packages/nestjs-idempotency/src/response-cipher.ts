import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { StoredResponse } from './storage/idempotency-store.interface.js';

/** A key for encrypting stored responses: 32 bytes, or their base64; `id` names it in each record it seals. */
export interface EncryptionKey {
  id: string;
  key: Buffer | string;
}

export interface EncryptionOptions {
  /** The first key seals new records; every key opens the records it sealed, so keys rotate without losing records. */
  keys: EncryptionKey[];
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM over a stored response's headers and body; the status and fingerprint stay readable.
 * The record id is the additional data, so a record copied under another key does not open.
 */
export class ResponseCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly sealingKeyId: string;

  constructor(options: EncryptionOptions) {
    if (options.keys.length === 0) throw new Error('encryption.keys needs at least one key');
    for (const { id, key } of options.keys) {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
      if (bytes.length !== 32) throw new Error(`encryption key "${id}" must be 32 bytes (AES-256), got ${bytes.length}`);
      if (id.length === 0 || this.keys.has(id)) throw new Error(`encryption key ids must be unique and non-empty ("${id}")`);
      this.keys.set(id, bytes);
    }
    this.sealingKeyId = options.keys[0]!.id;
  }

  seal(recordId: string, response: StoredResponse): StoredResponse {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.sealingKeyId)!, iv).setAAD(Buffer.from(recordId));
    const plain = JSON.stringify({ headers: response.headers, body: response.body, binary: response.binary });
    const sealed = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { fingerprint: response.fingerprint, status: response.status, headers: {}, body: sealed.toString('base64'), sealedBy: this.sealingKeyId };
  }

  /** The response as stored before sealing; throws when its key is unknown or it does not authenticate. */
  open(recordId: string, stored: StoredResponse): StoredResponse {
    if (stored.sealedBy === undefined) return stored;
    const key = this.keys.get(stored.sealedBy);
    if (!key) throw new Error(`The stored response is sealed with key "${stored.sealedBy}", which is not configured`);
    const sealed = Buffer.from(stored.body, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES)).setAAD(Buffer.from(recordId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    const { headers, body, binary } = JSON.parse(plain) as Pick<StoredResponse, 'headers' | 'body' | 'binary'>;
    return { fingerprint: stored.fingerprint, status: stored.status, headers, body, ...(binary ? { binary } : {}) };
  }
}
