import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Slows password guessing at `authApp` (issue #18) without letting anyone lock an app out:
 *
 * - per (app, client address): after `pairFailures` failed logins within the window (counted
 *   from the first), that address may not try that app until the window ends. Only the address's own failures count, so a
 *   third party elsewhere cannot block it; a success clears the count.
 * - per client address: after `addressFailures` failed logins within the window (any apps,
 *   unknown app names included), the address is blocked for the window — except for apps it
 *   logged into within `knownForMs` (a client behind the same NAT as an attacker keeps
 *   logging into its own app).
 * - per app: while an app collects more than `appFailures` failures within the window (a
 *   distributed attack), each further failure counts `attackWeight` times against its address
 *   (for that app and overall), so each attacking address gets a few guesses, not ten. The app
 *   itself is never blocked: a right password from an address not blocked always logs in.
 *
 * Counters are kept in memory per API replica; with N replicas an attacker spread evenly over
 * them gets up to N times the attempts.
 */
export interface AuthThrottleSettings {
  pairFailures: number;
  pairWindowS: number;
  addressFailures: number;
  addressWindowS: number;
  appFailures: number;
  appWindowS: number;
  attackWeight: number;
  knownForMs: number;
  /** At most this many (app, address) pairs are remembered as known; the oldest go first. */
  maxKnown: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleSettings = {
  pairFailures: 10,
  pairWindowS: 15 * 60,
  addressFailures: 100,
  addressWindowS: 60 * 60,
  appFailures: 100,
  appWindowS: 15 * 60,
  attackWeight: 5,
  knownForMs: 24 * 3600 * 1000,
  maxKnown: 100_000,
};

export class AuthThrottle {
  private readonly pair: RateLimiterMemory;
  private readonly address: RateLimiterMemory;
  private readonly app: RateLimiterMemory;
  /** `app\naddress` → when it last logged in; Map order is insertion order, so the first is the oldest. */
  private readonly known = new Map<string, number>();

  constructor(private readonly settings: AuthThrottleSettings = DEFAULT_AUTH_THROTTLE) {
    // Fixed windows from a key's first failure; a key that reached its limit waits for the window's end.
    this.pair = new RateLimiterMemory({ keyPrefix: 'auth-pair', points: settings.pairFailures, duration: settings.pairWindowS });
    this.address = new RateLimiterMemory({ keyPrefix: 'auth-address', points: settings.addressFailures, duration: settings.addressWindowS });
    this.app = new RateLimiterMemory({ keyPrefix: 'auth-app', points: settings.appFailures, duration: settings.appWindowS });
  }

  /** Before the password is checked: how many seconds this address must wait to try this app again (0: go ahead). */
  async retryAfterS(appName: string, address: string): Promise<number> {
    const waits = [blockedForMs(await this.pair.get(pairKey(appName, address)), this.settings.pairFailures)];
    if (!this.isKnown(appName, address)) waits.push(blockedForMs(await this.address.get(address), this.settings.addressFailures));
    return Math.ceil(Math.max(...waits) / 1000);
  }

  /** A failed login (wrong password, or no such app). */
  async failed(appName: string, address: string): Promise<void> {
    const app = await this.app.penalty(appName);
    const weight = app.consumedPoints > this.settings.appFailures ? this.settings.attackWeight : 1;
    await Promise.all([this.pair.penalty(pairKey(appName, address), weight), this.address.penalty(address, weight)]);
  }

  async succeeded(appName: string, address: string): Promise<void> {
    const key = pairKey(appName, address);
    await this.pair.delete(key);
    this.known.delete(key);
    this.known.set(key, Date.now());
    if (this.known.size > this.settings.maxKnown) this.known.delete(this.known.keys().next().value!);
  }

  private isKnown(appName: string, address: string): boolean {
    const at = this.known.get(pairKey(appName, address));
    return at !== undefined && Date.now() - at < this.settings.knownForMs;
  }
}

const pairKey = (appName: string, address: string) => `${appName}\n${address}`;

/** How long a key at its limit stays blocked (the rest of its window); 0 when it is not. */
function blockedForMs(res: RateLimiterRes | null, limit: number): number {
  return res && res.consumedPoints >= limit ? res.msBeforeNext : 0;
}
