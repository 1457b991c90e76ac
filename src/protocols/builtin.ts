/**
 * The built-in protocols: the kernel's (sound, and hmm-v5.2 with its known race) and the zoo
 * of broken variants. Each is its own module written against the plugin API.
 */
export const BUILTIN_PROTOCOLS = [
  'interval-v5.5',
  'odp-v5.4',
  'kvm',
  'hmm-v5.2',
  'hmm-valid-unlocked',
  'interval-retry-unlocked',
  'interval-no-retry',
  'odp-seq-only',
  'walk-no-mmap-lock',
  'sync-no-fence',
  'hmm-eagain-leak',
  'odp-nonblock-rwsem-leak',
] as const;

/** URL of a built-in protocol's compiled module. */
export function builtinUrl(name: string): string {
  return new URL(`./${name}.js`, import.meta.url).href;
}
