// Environment expansion the Collector's way, applied to every string value of the parsed YAML:
// `${env:VAR}` and `${VAR}`, `${env:VAR:-default}`, `$$` for a literal `$`; a bare `$VAR` stays as
// written. When a whole value is one reference, the expansion is re-read as a YAML scalar so that
// `port: ${env:PORT}` becomes a number, as in the Collector.
import { parse as parseYaml } from 'yaml';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type Env = Record<string, string | undefined>;

/** Expands one string; `path` names the value for error messages. */
export function expandString(s: string, env: Env, path: string): { value: string; whole: boolean } {
  let out = '';
  let refs = 0;
  let literal = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$') { out += c; literal = true; continue; }
    const next = s[i + 1];
    if (next === '$') { out += '$'; i++; literal = true; continue; }
    if (next !== '{') { out += c; literal = true; continue; }
    const close = s.indexOf('}', i + 2);
    if (close < 0) throw new Error(`${path}: unterminated "\${" in ${JSON.stringify(s)}`);
    let ref = s.slice(i + 2, close);
    const colon = ref.indexOf(':');
    if (colon >= 0 && !ref.startsWith('env:') && ref.slice(colon, colon + 2) !== ':-') {
      throw new Error(`${path}: unsupported config provider in "\${${ref}}" (Sonde supports \${env:VAR}, \${VAR} and \${env:VAR:-default})`);
    }
    if (ref.startsWith('env:')) ref = ref.slice(4);
    let fallback: string | undefined;
    const dflt = ref.indexOf(':-');
    if (dflt >= 0) { fallback = ref.slice(dflt + 2); ref = ref.slice(0, dflt); }
    if (!NAME.test(ref)) throw new Error(`${path}: environment variable name "${ref}" in ${JSON.stringify(s)} is invalid (must match ${NAME.source})`);
    const v = env[ref];
    out += v !== undefined && v !== '' ? v : (fallback ?? '');
    refs++;
    i = close;
  }
  return { value: out, whole: refs === 1 && !literal };
}

/** Expands every string value (not keys) of a parsed YAML tree, in place semantics by copy. */
export function expandEnv(node: unknown, env: Env, path = ''): unknown {
  if (typeof node === 'string') {
    if (!node.includes('$')) return node;
    const { value, whole } = expandString(node, env, path || 'config');
    if (!whole) return value;
    const typed: unknown = value === '' ? '' : parseYaml(value);
    return typed !== null && typeof typed === 'object' ? value : typed ?? value;
  }
  if (Array.isArray(node)) return node.map((x, i) => expandEnv(x, env, `${path}[${i}]`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = expandEnv(v, env, path ? `${path}::${k}` : k);
    return out;
  }
  return node;
}
