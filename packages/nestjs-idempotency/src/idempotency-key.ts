import { IDEMPOTENCY_KEY_HEADER } from './idempotency.constants.js';
import { IdempotencyRequestError } from './idempotency.exceptions.js';

const MAX_KEY_LENGTH = 255;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Reads the key from the header's raw occurrences. The IETF draft sends it as a structured-field
 * string ("…"); the bare form is accepted too and both name the same key. Returns undefined when
 * the header is absent.
 */
export function parseIdempotencyKey(occurrences: string[]): string | undefined {
  if (occurrences.length === 0) return undefined;
  if (occurrences.length > 1) throw invalidKey(`send ${IDEMPOTENCY_KEY_HEADER} once, not ${occurrences.length} times`);
  const raw = occurrences[0]!.trim();
  const key = raw.startsWith('"') ? unquoteStructuredString(raw) : raw;
  if (key.length === 0) throw invalidKey('the key is empty');
  if (key.length > MAX_KEY_LENGTH) throw invalidKey(`the key is longer than ${MAX_KEY_LENGTH} characters`);
  if (!VISIBLE_ASCII.test(key)) throw invalidKey('the key may contain only visible ASCII characters, no spaces');
  return key;
}

/** RFC 8941 sf-string: only \" and \\ are escapes; anything else makes the header malformed. */
function unquoteStructuredString(raw: string): string {
  if (raw.length < 2 || !raw.endsWith('"')) throw invalidKey('a quoted key must end with a double quote');
  let key = '';
  for (let index = 1; index < raw.length - 1; index++) {
    const char = raw[index]!;
    if (char === '\\') {
      const escaped = raw[++index];
      if ((escaped !== '"' && escaped !== '\\') || index === raw.length - 1) {
        throw invalidKey('a quoted key may escape only " and \\');
      }
      key += escaped;
    } else if (char === '"') {
      throw invalidKey('a quoted key must escape inner double quotes');
    } else {
      key += char;
    }
  }
  return key;
}

function invalidKey(detail: string): IdempotencyRequestError {
  return new IdempotencyRequestError('IDEMPOTENCY_KEY_INVALID', `${IDEMPOTENCY_KEY_HEADER} is malformed: ${detail}.`);
}
