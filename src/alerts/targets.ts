/**
 * Alert targets (PowerJob's "users" a job's notifyUserIds point at): their channels as
 * stored, as delivery needs them (secrets included), and as reads show them (never a secret).
 */
import { ALERT_CHANNELS, type AlertChannel, type ChannelConfig } from '../domain/alert.js';

/** A target's channels as stored: at most one of each, secrets included. */
export interface TargetChannels {
  email?: string;
  webhook?: { url: string; secret: string };
  slack?: { url: string };
  lark?: { url: string; secret?: string };
  dingtalk?: { url: string; secret?: string };
  wecom?: { url: string };
}

export interface StoredAlertTarget {
  id: number;
  appId: number;
  name: string;
  channels: TargetChannels;
  createdAt: number;
  updatedAt: number;
}

/** What saveAlertTarget takes: a channel given is set, a channel absent or null is removed; an update may omit a secret to keep it. */
export interface TargetChannelsInput {
  email?: string | null | undefined;
  webhook?: { url: string; secret?: string | undefined } | null | undefined;
  slack?: { url: string } | null | undefined;
  lark?: { url: string; secret?: string | undefined } | null | undefined;
  dingtalk?: { url: string; secret?: string | undefined } | null | undefined;
  wecom?: { url: string } | null | undefined;
}

/** How a target reads: secrets replaced by whether one is set, robot URLs (whose path is their access token) masked. */
export interface AlertTargetView {
  id: number;
  name: string;
  email: string | null;
  webhook: { url: string; secretSet: boolean } | null;
  slack: { url: string } | null;
  lark: { url: string; secretSet: boolean } | null;
  dingtalk: { url: string; secretSet: boolean } | null;
  wecom: { url: string } | null;
  channels: AlertChannel[];
  gmtCreate: number;
  gmtModified: number;
}

/** The part of a masked URL that stands for the hidden path and query. */
export const MASK = '***';

/**
 * Slack, Lark, DingTalk and WeCom robots take their access token in the URL (path or query):
 * a read keeps scheme, host and port, and shows the rest as `/***`.
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/${MASK}`;
  } catch {
    return MASK;
  }
}

export function viewOfTarget(target: StoredAlertTarget): AlertTargetView {
  const { email, webhook, slack, lark, dingtalk, wecom } = target.channels;
  return {
    id: target.id,
    name: target.name,
    email: email ?? null,
    webhook: webhook ? { url: webhook.url, secretSet: webhook.secret.length > 0 } : null,
    slack: slack ? { url: maskUrl(slack.url) } : null,
    lark: lark ? { url: maskUrl(lark.url), secretSet: !!lark.secret } : null,
    dingtalk: dingtalk ? { url: maskUrl(dingtalk.url), secretSet: !!dingtalk.secret } : null,
    wecom: wecom ? { url: maskUrl(wecom.url) } : null,
    channels: channelsOf(target.channels),
    gmtCreate: target.createdAt,
    gmtModified: target.updatedAt,
  };
}

export function channelsOf(channels: TargetChannels): AlertChannel[] {
  return ALERT_CHANNELS.filter((channel) => channels[channel] !== undefined);
}

/** One channel of a target as delivery takes it, or undefined when the target has no such channel. */
export function channelConfigOf(channels: TargetChannels, channel: string): ChannelConfig | undefined {
  switch (channel) {
    case 'email': return channels.email !== undefined ? { channel, address: channels.email } : undefined;
    case 'webhook': return channels.webhook ? { channel, ...channels.webhook } : undefined;
    case 'slack': return channels.slack ? { channel, ...channels.slack } : undefined;
    case 'lark': return channels.lark ? { channel, ...channels.lark } : undefined;
    case 'dingtalk': return channels.dingtalk ? { channel, ...channels.dingtalk } : undefined;
    case 'wecom': return channels.wecom ? { channel, ...channels.wecom } : undefined;
    default: return undefined;
  }
}

/**
 * The channels an accepted save stores: the input's, with what an update left out taken from
 * the stored target — a secret omitted keeps the stored one, and a robot URL sent back as
 * read (masked) keeps the stored URL. Returns the problem, for the caller to refuse, when a
 * webhook would have no secret or no channel is left.
 */
export function mergeChannels(input: TargetChannelsInput, stored: TargetChannels | undefined): TargetChannels | string {
  const out: TargetChannels = {};
  const keepUrl = (url: string, before: { url: string } | undefined) => (before && url === maskUrl(before.url) ? before.url : url);
  if (input.email) out.email = input.email;
  if (input.webhook) {
    const secret = input.webhook.secret ?? stored?.webhook?.secret;
    if (!secret) return 'webhook.secret is required: every webhook request is signed with it (HMAC-SHA256); send one of at least 16 characters';
    out.webhook = { url: input.webhook.url, secret };
  }
  if (input.slack) out.slack = { url: keepUrl(input.slack.url, stored?.slack) };
  if (input.lark) {
    const secret = input.lark.secret ?? stored?.lark?.secret;
    out.lark = { url: keepUrl(input.lark.url, stored?.lark), ...(secret ? { secret } : {}) };
  }
  if (input.dingtalk) {
    const secret = input.dingtalk.secret ?? stored?.dingtalk?.secret;
    out.dingtalk = { url: keepUrl(input.dingtalk.url, stored?.dingtalk), ...(secret ? { secret } : {}) };
  }
  if (input.wecom) out.wecom = { url: keepUrl(input.wecom.url, stored?.wecom) };
  for (const [channel, value] of Object.entries(out) as [string, { url?: string }][]) {
    if (typeof value === 'object' && value.url?.endsWith(`/${MASK}`)) {
      return `${channel}.url is masked (as reads show it) and is not this target's stored URL; send the full URL`;
    }
  }
  if (channelsOf(out).length === 0) return `a target needs at least one channel: one of ${ALERT_CHANNELS.join(', ')}`;
  return out;
}
