/** An expected failure of a command (bad input, an HTTP 4xx, an API out of reach): its message is printed without a stack trace, and the process exits with its code. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
