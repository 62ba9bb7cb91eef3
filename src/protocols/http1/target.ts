// Splitting a request target into the parts telemetry treats differently: the path (kept, then
// turned into a route) and the query (dropped by default: it often carries tokens and ids).

export interface SplitTarget {
  /** Path ('/' for an empty origin path; '*' for `OPTIONS *`; '' for authority-form). */
  path: string;
  /** Query without the leading '?', or undefined when there is none. */
  query: string | undefined;
  /** Host[:port] from absolute-form (`http://host/path`) or authority-form (`host:443`, CONNECT). */
  authority: string | undefined;
  /** Scheme from absolute-form (proxy requests), lower-case. */
  scheme: string | undefined;
}

const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)/;

/** Splits a request target (origin-, absolute-, authority- or asterisk-form). A fragment, if a client sent one, is dropped. */
export function splitTarget(target: string): SplitTarget {
  let rest = target;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  let authority: string | undefined;
  let scheme: string | undefined;
  if (rest.charCodeAt(0) !== 0x2f /* / */ && rest !== '*') {
    const m = ABSOLUTE_FORM.exec(rest);
    if (m !== null) {
      scheme = m[1]!.toLowerCase();
      authority = m[2];
      rest = rest.slice(m[0].length);
      if (rest === '' || rest.charCodeAt(0) === 0x3f /* ? */) rest = '/' + rest;
    } else if (!rest.includes('/') && !rest.includes('?')) {
      return { path: '', query: undefined, authority: rest, scheme: undefined };
    }
  }
  const q = rest.indexOf('?');
  if (q < 0) return { path: rest === '' ? '/' : rest, query: undefined, authority, scheme };
  return { path: q === 0 ? '/' : rest.slice(0, q), query: rest.slice(q + 1), authority, scheme };
}
