// An elector's calls into the code that wired it. Whatever a callback throws is reported through onError, and what
// onError throws is dropped (it has nowhere left to go): a faulty callback never stops an election loop.
export class Callbacks {
  constructor(private readonly onError: (err: unknown) => void) {}

  report(err: unknown): void {
    try {
      this.onError(err);
    } catch {
      // An error callback that throws has nowhere left to report to.
    }
  }

  call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err);
    }
  }

  async callAsync(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.report(err);
    }
  }
}
