/**
 * Option checks shared by every log, so the rule is the same everywhere
 * (README "Errors"): an options object rejects unknown keys (a typo is never
 * silently ignored); a value of the wrong type is a TypeError; a value of
 * the right type outside its range or set is a RangeError.
 */

/** Reject a non-object and unknown keys (TypeError). */
export function checkOptions(where: string, options: unknown, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${where}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

/** An integer option in [min, max]; `def` when undefined. */
export function intOption(where: string, name: string, value: unknown, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number') throw new TypeError(`${where}: ${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${where}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** A string option from a fixed set; `def` when undefined. */
export function enumOption<T extends string>(where: string, name: string, value: unknown, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (typeof value !== 'string') throw new TypeError(`${where}: ${name} must be a string (${allowed.map((a) => `'${a}'`).join(' or ')}), got ${typeof value}`);
  if (!(allowed as readonly string[]).includes(value)) throw new RangeError(`${where}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${value}'`);
  return value as T;
}

/** A boolean option; `def` when undefined. */
export function boolOption(where: string, name: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be a boolean, got ${typeof value}`);
  return value;
}

/** A non-empty string path argument (TypeError otherwise). */
export function pathArg(where: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`${where}: path must be a non-empty string`);
  return path;
}

/** The u64 mode option (number or bigint) under its one name, `u64`, or the deprecated alias a log documented before. */
export function u64Option(where: string, options: { u64?: unknown }, alias?: { name: string; value: unknown }): 'number' | 'bigint' {
  const given = options.u64 ?? alias?.value;
  if (options.u64 !== undefined && alias?.value !== undefined && options.u64 !== alias.value) {
    throw new TypeError(`${where}: u64 and its deprecated alias ${alias.name} disagree`);
  }
  return enumOption(where, options.u64 !== undefined || alias === undefined ? 'u64' : alias.name, given, ['number', 'bigint'] as const, 'number');
}

/** Symbol.dispose where the runtime has it (Node 20+, Deno, Bun), else its registered stand-in. */
export const disposeSymbol: typeof Symbol.dispose = (Symbol.dispose ?? Symbol.for('Symbol.dispose')) as typeof Symbol.dispose;
