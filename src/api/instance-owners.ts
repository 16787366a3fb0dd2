/** Instances whose app this API replica knows, at most this many (the oldest are forgotten first). */
const OWNERS_KEPT = 100_000;

/**
 * Which app an instance is, as far as this replica knows: instances it created itself
 * (runJob), and instances it has read. An instance never changes app, so an entry never goes
 * stale; a miss only costs a read of the instance. Lets the log receiver check each shipped
 * instance without asking Temporal for every one.
 */
export class InstanceOwners {
  private readonly owners = new Map<number, number>();

  remember(instanceId: number, appId: number): void {
    if (this.owners.has(instanceId)) return;
    if (this.owners.size >= OWNERS_KEPT) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(instanceId, appId);
  }

  appOf(instanceId: number): number | undefined {
    return this.owners.get(instanceId);
  }
}
