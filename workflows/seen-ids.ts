/**
 * The event ids a journey has applied, bounded (oldest forgotten first) and carried over
 * continue-as-new. Forgetting is safe: the machine keeps the earliest evidence per stage, so a
 * redelivered old event changes nothing; the set only spares the work and keeps effects single.
 */
export class SeenIds {
  private readonly order: string[];
  private readonly ids: Set<string>;

  constructor(
    initial: readonly string[] = [],
    private readonly limit = 10_000,
  ) {
    this.order = initial.slice(-limit);
    this.ids = new Set(this.order);
  }

  /** Records the id; false when it was already seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length > this.limit) this.ids.delete(this.order.shift()!);
    return true;
  }

  toJSON(): string[] {
    return [...this.order];
  }
}
