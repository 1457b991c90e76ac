/**
 * builtin.ts — the built-in protocols, by name. kernel/ holds the kernel's protocols (sound, and
 * hmm-v5.2 with its known race); zoo/ the broken variants written to show one mistake each;
 * history/ the kernel's own fixed races, each bug beside its fix (`<name>` and `<name>-fix`,
 * docs/history.md). Each is its own module written against the plugin API (api.ts).
 */
export const BUILTIN_FOLDERS = {
  'interval-v5.5': 'kernel',
  'odp-v5.4': 'kernel',
  kvm: 'kernel',
  'hmm-v5.2': 'kernel',
  'hmm-valid-unlocked': 'zoo',
  'interval-retry-unlocked': 'zoo',
  'interval-no-retry': 'zoo',
  'odp-seq-only': 'zoo',
  'walk-no-mmap-lock': 'zoo',
  'sync-no-fence': 'zoo',
  'hmm-eagain-leak': 'zoo',
  'odp-nonblock-rwsem-leak': 'zoo',
  'odp-nonblock-rwsem-leak-fix': 'history',
  'kvm-unpaired-range-end': 'history',
  'kvm-unpaired-range-end-fix': 'history',
  'oom-reaper-no-notifier': 'history',
  'oom-reaper-no-notifier-fix': 'history',
  'kvm-gpc-refresh': 'history',
  'kvm-gpc-refresh-fix': 'history',
  'hmm-notifier-free': 'history',
  'hmm-notifier-free-fix': 'history',
  'interval-remove-race': 'history',
  'interval-remove-race-fix': 'history',
  'notifier-release-unhashed': 'history',
  'notifier-release-unhashed-fix': 'history',
  'odp-implicit-child-exit': 'history',
  'odp-implicit-child-exit-fix': 'history',
  'kvm-apic-page-reload': 'history',
  'kvm-apic-page-reload-fix': 'history',
  'nouveau-exclusive-folio-leak': 'history',
  'nouveau-exclusive-folio-leak-fix': 'history',
  'xen-gntdev-unmap-wait': 'history',
  'xen-gntdev-unmap-wait-fix': 'history',
  'amdgpu-userptr-shared-range': 'history',
  'amdgpu-userptr-shared-range-fix': 'history',
  'hmm-eagain-leak-fix': 'history',
  'hmm-mirror-eagain-lost': 'history',
  'hmm-mirror-eagain-lost-fix': 'history',
} as const;

export type BuiltinName = keyof typeof BUILTIN_FOLDERS;

/** Built-in names, in the order `hmmsim list` and the default campaign use. */
export const BUILTIN_PROTOCOLS = Object.keys(BUILTIN_FOLDERS) as BuiltinName[];

/** `--protocol all` and the default campaign: every built-in outside history/ (as before it existed). */
export const ALL_PROTOCOLS: BuiltinName[] = BUILTIN_PROTOCOLS.filter((name) => BUILTIN_FOLDERS[name] !== 'history');

/** History entries placed by hand below (beside a twin outside history/, or after the commit's first pair). */
const HISTORY_PLACED: string[] = [
  'odp-nonblock-rwsem-leak-fix',
  'hmm-eagain-leak-fix',
  'hmm-mirror-eagain-lost',
  'hmm-mirror-eagain-lost-fix',
];

/** `--protocol history`: the kernel's fixed races, each bug beside its fix. */
export const HISTORY_PROTOCOLS: BuiltinName[] = [
  'odp-nonblock-rwsem-leak',
  'odp-nonblock-rwsem-leak-fix',
  ...BUILTIN_PROTOCOLS.filter((name) => BUILTIN_FOLDERS[name] === 'history' && !HISTORY_PLACED.includes(name)),
  'hmm-eagain-leak', // the zoo's, beside its fix
  'hmm-eagain-leak-fix',
  // the same commit's second error flow
  'hmm-mirror-eagain-lost',
  'hmm-mirror-eagain-lost-fix',
];

/** URL of a built-in protocol's compiled module. */
export function builtinUrl(name: string): string {
  const folder = (BUILTIN_FOLDERS as Record<string, string>)[name];
  if (!folder) throw new Error(`unknown built-in protocol '${name}'`);
  return new URL(`./${folder}/${name}.js`, import.meta.url).href;
}
