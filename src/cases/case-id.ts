/**
 * A case's id has two forms. The journey names a case `<developerId>/h<n>` (its database key, the
 * value of its Slack buttons, its history: unchanged, so running journeys replay); the API shows
 * and takes a path-safe form, `<developerId, escaped>.h<n>`, usable in `/v1/handoffs/:id` as it is.
 * Escaping keeps letters, digits, `-`, `_` and `.`, and writes every other UTF-8 byte as `~XX`, so
 * `dev_42/h1` is `dev_42.h1` and `acme:7/h2` is `acme~3A7.h2`, one-to-one for any developer id.
 * The journey's form, percent-encoded, is still taken (links already posted to Slack). A developer
 * id of 256 UTF-16 units escapes to at most 2,304 characters (3 bytes a unit, 3 characters a byte).
 */

const JOURNEY_FORM = /^(.+)\/h([1-9]\d*)$/s;
const PATH_SAFE_FORM = /^((?:[A-Za-z0-9._-]|~[0-9A-F]{2})+)\.h([1-9]\d*)$/;
const KEPT_BYTE = /^[A-Za-z0-9._-]$/;

/** The path-safe id the API shows for a case the journey names `<developerId>/h<n>`. */
export function pathSafeCaseId(caseId: string): string {
  const match = JOURNEY_FORM.exec(caseId);
  if (!match) return caseId; // not a journey's case id: nothing to translate
  return `${escape(match[1]!)}.h${match[2]}`;
}

/** The journey's id of the case a client names, in either form; undefined when it names none. */
export function journeyCaseId(presented: string): string | undefined {
  if (presented.includes('/')) return JOURNEY_FORM.test(presented) ? presented : undefined;
  const match = PATH_SAFE_FORM.exec(presented);
  if (!match) return undefined;
  const developerId = unescape(match[1]!);
  // One spelling per id: a `~XX` for a byte that is kept, or bytes that are no UTF-8, name no case.
  return developerId !== undefined && escape(developerId) === match[1] ? `${developerId}/h${match[2]}` : undefined;
}

function escape(developerId: string): string {
  let out = '';
  for (const byte of Buffer.from(developerId, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += KEPT_BYTE.test(char) ? char : `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescape(escaped: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '~') {
      bytes.push(parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(escaped.charCodeAt(i));
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}
