/** Time, so domain rules can be tested without waiting. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
