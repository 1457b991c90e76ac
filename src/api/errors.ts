/** Bad input (unknown protocol, out-of-range number, missing plugin...): the CLI prints the
 *  message as one line and exits 2. Messages say what to do. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
