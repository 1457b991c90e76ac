/**
 * schedule-input.ts — where the stepper's schedule comes from: a JSON file (picked or dropped) or
 * the URL's `?schedule=` parameter, and what is in it: a whole report of `hmmsim stress --mode
 * controlled --json` (its first schedule, with the witness recorded with it), a corpus file (the
 * same shape), or one schedule value (what `hmmsim replay|shrink --demo-url` embeds).
 *
 * `?schedule=` holds the JSON as it is (URL-encoded), base64url of it, or base64url of its gzip
 * (src/cli/demo-url.ts writes that one; the two are told apart by gzip's magic bytes).
 */
import type { Schedule, Witness } from '../src/api/types.js';

/** A schedule to step through, and the witness recorded with it (when it came in a report). */
export interface LoadedSchedule {
  schedule: Schedule;
  recorded?: Witness;
}

const GZIP_MAGIC = [0x1f, 0x8b];

function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/').replace(/\s+/g, '');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function pipe(bytes: Uint8Array, stream: GenerateTransformStream): Promise<Uint8Array> {
  const out = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}
type GenerateTransformStream = CompressionStream | DecompressionStream;

/** The JSON text a `?schedule=` value holds; throws with a one-line reason. */
export async function decodeScheduleParam(value: string): Promise<string> {
  const text = value.trim();
  if (text.startsWith('{')) return text;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw new Error('?schedule= is neither JSON nor base64url: use the link hmmsim replay --demo-url prints');
  }
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    try {
      bytes = await pipe(bytes, new DecompressionStream('gzip'));
    } catch {
      throw new Error('?schedule= holds a damaged gzip stream: copy the whole link hmmsim replay --demo-url prints');
    }
  }
  return new TextDecoder().decode(bytes);
}

/** `?schedule=` for a schedule: base64url of its gzipped JSON. */
export async function encodeScheduleParam(schedule: Schedule): Promise<string> {
  return toBase64Url(await pipe(new TextEncoder().encode(JSON.stringify(schedule)), new CompressionStream('gzip')));
}

/** The first schedule in parsed JSON (a report, a corpus file or a bare schedule), or why there is none. */
export function scheduleIn(json: unknown, where: string): LoadedSchedule {
  const value = json as { format?: unknown; protocols?: { witnesses?: Witness[] }[]; schedule?: unknown };
  if (value && typeof value === 'object') {
    if (value.format !== undefined) return { schedule: value as unknown as Schedule };
    for (const p of Array.isArray(value.protocols) ? value.protocols : [])
      for (const w of Array.isArray(p?.witnesses) ? p.witnesses : []) if (w?.schedule) return { schedule: w.schedule, recorded: w };
  }
  throw new Error(`${where} holds no schedule: give a report of hmmsim stress --mode controlled --json, a corpus file or a schedule`);
}

/** Parse JSON text from `where` into its first schedule; throws with a one-line reason. */
export function parseSchedule(text: string, where: string): LoadedSchedule {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON: give a report of hmmsim stress --mode controlled --json, a corpus file or a schedule`);
  }
  return scheduleIn(json, where);
}
