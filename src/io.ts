/** Where the command line writes (the `trellis` CLI and the store's commands): the process by default, a buffer in tests. */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};
