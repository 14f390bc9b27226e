/** Shared checks for options objects: unknown keys are rejected, so a typo is never silently ignored. */
export function checkOptions(where: string, options: unknown, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${where}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

/** Symbol.dispose where the runtime has it (Node 20+, Deno, Bun), else its registered stand-in. */
export const disposeSymbol: typeof Symbol.dispose = (Symbol.dispose ?? Symbol.for('Symbol.dispose')) as typeof Symbol.dispose;
