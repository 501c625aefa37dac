/**
 * Runs tasks one at a time, in call order: each starts after the previous one
 * settled (resolved or rejected), so it sees that one's result. A failed task
 * fails only its own caller.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
