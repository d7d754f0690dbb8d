/**
 * `defaults` overridden by the fields of `options` that are set: `undefined` never replaces a default,
 * and only keys the defaults know are taken (so options objects may carry other fields).
 */
export function withDefaults<D extends object>(defaults: D, options: object): D {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key in defaults) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
