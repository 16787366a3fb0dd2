/**
 * The one function every alert channel implements (src/alerts), and the error that stops
 * delivery instead of retrying it.
 */
import type { Alert, ChannelConfig, DeliveryContext } from '../domain/alert.js';

/** Sends one alert on one channel; resolves once the service accepted it, throws otherwise. */
export type DeliverAlert = (config: ChannelConfig, alert: Alert, context: DeliveryContext) => Promise<void>;

/**
 * A failure that sending again cannot fix (the service refused the request as malformed or
 * unauthorised, the target is misconfigured): delivery stops and records it. Anything else
 * thrown is retried with backoff.
 */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}
