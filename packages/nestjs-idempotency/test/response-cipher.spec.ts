import { describe, expect, it } from '@jest/globals';
import { ResponseCipher } from '../src/response-cipher.js';

const response = { fingerprint: 'fp', status: 201, headers: { location: '/things/1' }, body: '{"secret":"card 4242"}' };

describe('encryption of stored responses', () => {
  it('seals headers and body with the first key, and opens them again', () => {
    const cipher = new ResponseCipher({ keys: [{ id: 'k1', key: Buffer.alloc(32, 7) }] });
    const sealed = cipher.seal('record-1', response);
    expect(JSON.stringify(sealed)).not.toContain('4242');
    expect(JSON.stringify(sealed)).not.toContain('/things/1');
    expect(sealed).toMatchObject({ fingerprint: 'fp', status: 201, sealedBy: 'k1' });
    expect(cipher.open('record-1', sealed)).toEqual(response);
  });

  it('refuses a sealed record moved under another record id, altered, or sealed with a key it no longer has', () => {
    const cipher = new ResponseCipher({ keys: [{ id: 'k1', key: Buffer.alloc(32, 7) }] });
    const sealed = cipher.seal('record-1', response);
    expect(() => cipher.open('record-2', sealed)).toThrow();
    const flipped = Buffer.from(sealed.body, 'base64');
    flipped[20] ^= 1;
    expect(() => cipher.open('record-1', { ...sealed, body: flipped.toString('base64') })).toThrow();
    const rotated = new ResponseCipher({ keys: [{ id: 'k2', key: Buffer.alloc(32, 8) }] });
    expect(() => rotated.open('record-1', sealed)).toThrow(/k1/);
  });

  it('refuses keys that are not 32 bytes, and repeated ids', () => {
    expect(() => new ResponseCipher({ keys: [{ id: 'short', key: Buffer.alloc(16) }] })).toThrow(/32 bytes/);
    expect(
      () =>
        new ResponseCipher({
          keys: [
            { id: 'a', key: Buffer.alloc(32) },
            { id: 'a', key: Buffer.alloc(32, 1) },
          ],
        }),
    ).toThrow(/unique/);
    expect(() => new ResponseCipher({ keys: [] })).toThrow(/at least one key/);
  });
});
