/** Where the CLI writes: the process by default, a buffer in tests. */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Other helpers' commands take argv and, optionally, the same kind of output sink. */
