/** The part of cli-progress 3.12 the CLI uses (the package ships no types; @types is not installed). */
declare module 'cli-progress' {
  import type { Writable } from 'node:stream';
  export interface Options {
    format?: string;
    stream?: Writable;
    fps?: number;
    barsize?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    linewrap?: boolean;
    noTTYOutput?: boolean;
    barCompleteChar?: string;
    barIncompleteChar?: string;
    formatValue?: (v: number, options: Options, type: string) => string;
  }
  export class SingleBar {
    constructor(opt: Options, preset?: Options);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(current: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export const Presets: { legacy: Options; shades_classic: Options; shades_grey: Options; rect: Options };
  const cliProgress: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
}
