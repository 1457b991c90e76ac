/**
 * kinds.ts — the one definition of the oracle's violation kinds.
 *
 * The order is the code: Wasm counts kind i in the header's violation word i (constants.ts
 * carries each code as `V_<KIND>` to AssemblyScript). `short` is the verdict table's column
 * name; the witness label is the kind in capitals.
 */
export const VIOLATION_KIND_TABLE = [
  { kind: 'device-pte-during-invalidation', short: 'pte-in-inval' },
  { kind: 'use-after-free', short: 'uaf' },
  { kind: 'write-to-readonly', short: 'write-ro' },
  { kind: 'page-table-use-after-free', short: 'pt-uaf' },
  { kind: 'deadlock', short: 'deadlock' },
  { kind: 'stall', short: 'stall' },
  { kind: 'access-to-protnone', short: 'protnone' },
  { kind: 'contract', short: 'contract' },
  { kind: 'notifier-use-after-free', short: 'notifier-uaf' },
] as const;

export type ViolationKind = (typeof VIOLATION_KIND_TABLE)[number]['kind'];

export const VIOLATION_KINDS: readonly ViolationKind[] = VIOLATION_KIND_TABLE.map((k) => k.kind);

/** Short name for the verdict table, by kind. */
export const KIND_SHORT: Readonly<Record<string, string>> = Object.fromEntries(VIOLATION_KIND_TABLE.map((k) => [k.kind, k.short]));

/** The witness line's label of kind code `code` ('USE-AFTER-FREE'). */
export const kindLabel = (code: number): string => VIOLATION_KINDS[code]?.toUpperCase() ?? `kind ${code}`;

type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;
type Codes = { readonly [K in ViolationKind as `V_${Uppercase<Snake<K>>}`]: number } & { readonly V_KINDS: number };

/** `V_USE_AFTER_FREE: 1`, ...: the kinds' codes, under the names Wasm and the layout use. */
export const VIOLATION_CODES = Object.fromEntries([
  ...VIOLATION_KINDS.map((k, i) => [`V_${k.toUpperCase().replaceAll('-', '_')}`, i]),
  ['V_KINDS', VIOLATION_KINDS.length],
]) as Codes;
