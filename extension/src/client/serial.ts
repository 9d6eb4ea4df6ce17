// Runs async jobs one after another, so that overlapping triggers (a reconnect while folders change) never
// interleave their requests and leave the store half updated.
// This module must not import 'vscode'.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs job after every job queued before it; the result (or rejection) is the job's own. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    // The chain itself never rejects; the caller handles the job's failure through the returned promise.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
